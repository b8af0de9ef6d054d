/**
 * The entry of the single-file browser bundle (dist/waiting-room.js, an IIFE): everything of
 * the public API as `window.WaitingRoom`, and `<waiting-room-position>` defined on load.
 */
import { defineWaitingRoomElement } from './element.js';

export * from './index.js';
export { DEFAULT_TAG_NAME, WaitingRoomPositionElement, defineWaitingRoomElement } from './element.js';

defineWaitingRoomElement();
