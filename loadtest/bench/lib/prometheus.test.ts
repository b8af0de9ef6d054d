import { describe, expect, it } from 'vitest';
import { sumSamples } from './prometheus.js';

const exposition = `# HELP waiting_room_websocket_messages_total Socket messages
# TYPE waiting_room_websocket_messages_total counter
waiting_room_websocket_messages_total{direction="out",type="position_update"} 1200
waiting_room_websocket_messages_total{type="position_update",direction="in"} 7
waiting_room_websocket_messages_total{direction="out",type="joined"} 50
waiting_room_websocket_messages_total_created{direction="out",type="joined"} 1700000000
waiting_room_websocket_connections 42
waiting_room_websocket_connections_peak 99
`;

describe('sumSamples', () => {
  it('matches labels in any order and ignores other metrics sharing the prefix', () => {
    expect(sumSamples(exposition, 'waiting_room_websocket_messages_total', { direction: 'out', type: 'position_update' })).toBe(1200);
    expect(sumSamples(exposition, 'waiting_room_websocket_messages_total', { type: 'position_update' })).toBe(1207);
    expect(sumSamples(exposition, 'waiting_room_websocket_messages_total', { direction: 'out' })).toBe(1250);
    expect(sumSamples(exposition, 'waiting_room_websocket_connections')).toBe(42);
    expect(sumSamples(exposition, 'waiting_room_missing')).toBe(0);
  });
});
