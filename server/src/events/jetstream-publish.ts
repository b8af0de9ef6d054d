import { JetStreamApiError, JetStreamError, PubHeaders, type ApiError, type PubAck } from '@nats-io/jetstream';
import { createInbox, NoRespondersError, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';

export interface OutgoingEvent {
  id: string;
  subject: string;
  payload: Uint8Array;
}

/** 'stored' (a duplicate of a stored message counts), the refusal, or undefined while unanswered. */
export type PublishOutcome = 'stored' | Error | undefined;

export interface AckWindow {
  /** Resolves once every publish of the window has its outcome; never rejects. */
  readonly settled: Promise<void>;
  /** Ends the window: acks arriving later are ignored. One outcome per event, in publish order. */
  close(): readonly PublishOutcome[];
}

export interface JetStreamPublisher {
  /** Publishes the events in order, each with its own reply subject; ends any window still open. */
  publish(events: readonly OutgoingEvent[]): AckWindow;
}

interface OpenWindow {
  events: readonly OutgoingEvent[];
  /** Reply number of events[0]; the others follow one by one. */
  firstReply: number;
  outcomes: PublishOutcome[];
  unanswered: number;
  settle: () => void;
}

/** A PubAck, or JetStream's refusal, as the server sends them (nats-io/jetstream jsclient.js `publish`). */
type PubAckReply = Partial<PubAck> & { error?: ApiError };

/**
 * JetStream publishes without a request per message. `js.publish()` builds a nats-core request
 * for every message (an id, a timer, an Error on clean-up even after success); at the event rate
 * of a join storm that overhead was most of the cost of publishing. Here one subscription on a
 * private inbox serves every ack of a connection: each message goes out as a core publish whose
 * reply subject ends in a counter, and the counter finds its slot in the window open now.
 *
 * `headers` is reused for every message and gets `Nats-Msg-Id` (the event id) set per message:
 * JetStream's duplicate window makes a retried event stored once. Reusing it is safe because
 * `conn.publish` encodes the headers into fresh bytes before it returns (nats-core protocol.js
 * `publish`: `hdrs.encode()` goes into the outbound buffer), so changing them afterwards changes
 * nothing already sent.
 *
 * Call on an open connection; the subscription ends with it.
 */
export function createJetStreamPublisher(
  conn: NatsConnection,
  headers: MsgHdrs,
  onInboxError: (err: Error) => void,
): JetStreamPublisher {
  const inbox = createInbox();
  const replyPrefix = `${inbox}.`;
  let nextReply = 0;
  let open: OpenWindow | undefined;

  conn.subscribe(`${inbox}.*`, {
    callback: (err, msg) => {
      if (err) {
        onInboxError(err);
        return;
      }
      const window = open;
      if (!window) return;
      const i = Number(msg.subject.slice(replyPrefix.length)) - window.firstReply;
      // Acks of an ended window (their numbers are below firstReply) and repeats are ignored.
      if (!Number.isInteger(i) || i < 0 || i >= window.events.length || window.outcomes[i] !== undefined) return;
      window.outcomes[i] = ackOutcome(msg, window.events[i]?.subject ?? '');
      if (--window.unanswered === 0) window.settle();
    },
  });

  return {
    publish(events) {
      let settle = () => {};
      const settled = new Promise<void>((resolve) => (settle = resolve));
      const outcomes: PublishOutcome[] = events.map(() => undefined);
      const window: OpenWindow = { events, firstReply: nextReply, outcomes, unanswered: events.length, settle };
      open = window;
      events.forEach((event, i) => {
        const reply = `${replyPrefix}${nextReply++}`;
        try {
          headers.set(PubHeaders.MsgIdHdr, event.id);
          conn.publish(event.subject, event.payload, { reply, headers });
        } catch (err) {
          // A closed connection, a payload over max_payload: this event fails now, the others go on.
          outcomes[i] = err instanceof Error ? err : new Error(String(err));
          window.unanswered--;
        }
      });
      if (window.unanswered === 0) settle();
      return {
        settled,
        close() {
          if (open === window) open = undefined;
          return outcomes;
        },
      };
    },
  };
}

/** What a reply to a publish says: stored, or why not. */
function ackOutcome(msg: Msg, subject: string): PublishOutcome {
  // Nothing captures the subject (no stream, or JetStream is off): the server's "no responders"
  // status, told apart the way nats-core does it (muxsubscription.js).
  if (msg.data.length === 0 && msg.headers?.code === 503) return new NoRespondersError(subject);
  let ack: PubAckReply | null;
  try {
    ack = msg.json<PubAckReply | null>();
  } catch (err) {
    return new JetStreamError('invalid ack response', { cause: err });
  }
  if (ack?.error) return new JetStreamApiError(ack.error);
  if (typeof ack?.stream !== 'string' || ack.stream === '') return new JetStreamError('invalid ack response');
  return 'stored';
}
