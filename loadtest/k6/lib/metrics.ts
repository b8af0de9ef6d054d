/**
 * The custom metrics the socket scenarios share, created in the init context (k6 requires it)
 * and filled from a VisitorRecord, so every scenario counts the same things the same way.
 */
import { check } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import { wasDropped, type VisitorRecord } from './visitor.ts';

/** Socket created → `joined`, ms. */
export const timeToJoined = new Trend('wr_time_to_joined', true);
/** `joined` → `admitted`, ms. */
export const timeToAdmitted = new Trend('wr_time_to_admitted', true);
/** Share of visitors that got `joined`. */
export const joined = new Rate('wr_joined');
/** Position updates that went up (must stay 0: nobody overtakes a waiting visitor). */
export const positionRises = new Counter('wr_position_rises');
/** Waiting visitors whose socket ended without admitted / expired / error / our own close. */
export const dropped = new Counter('wr_dropped');
/** `expired` messages (a visitor with an open socket must never expire). */
export const expired = new Counter('wr_expired');
/** `error` messages and transport errors, tagged with the code. */
export const errors = new Counter('wr_errors');
export const badFrames = new Counter('wr_bad_frames');
export const positionUpdates = new Counter('wr_position_updates');

/** Records one finished visitor; returns whether it joined. */
export function recordVisitor(r: VisitorRecord): boolean {
  const didJoin = r.joinedAt !== undefined;
  joined.add(didJoin);
  if (r.joinedAt !== undefined) timeToJoined.add(r.joinedAt - r.startedAt);
  if (r.joinedAt !== undefined && r.admittedAt !== undefined) timeToAdmitted.add(r.admittedAt - r.joinedAt);
  if (r.positionRises > 0) positionRises.add(r.positionRises);
  if (r.positionUpdates > 0) positionUpdates.add(r.positionUpdates);
  if (r.badFrames > 0) badFrames.add(r.badFrames);
  if (r.expiredReason !== undefined) expired.add(1, { reason: r.expiredReason });
  if (r.errorCode !== undefined) errors.add(1, { code: r.errorCode });
  if (r.transportError !== undefined) errors.add(1, { code: 'TRANSPORT' });
  const drop = didJoin && wasDropped(r);
  if (drop) dropped.add(1);
  check(r, {
    'socket joined': () => didJoin,
    'positions never rose': () => r.positionRises === 0,
    'not dropped': () => !drop,
  });
  return didJoin;
}
