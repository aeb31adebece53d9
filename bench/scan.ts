// Counts the events of a chatz body frame without parsing it: one pass over its `{"` marks.
// The load generator's hot path; a frame holding anything else is left to a full JSON parse.

/** What `countFrame` found in one frame. */
export interface FrameCounts {
  /** `{"type":"message",…}` events. */
  messages: number;
  /** `{"type":"presence",…}` events. */
  presence: number;
  /** Successful replies whose data is `{"id":<n>,…<digit>}`: chat messages stored. */
  acks: number;
}

const MESSAGE = '{"type":"message"';
const PRESENCE = '{"type":"presence"';
const REPLY = '{"re":';
const OK = ',"ok":';
const ID = '{"id":';
const DATA = '"data":';

/**
 * Counts messages, presence events and acknowledged messages in a decoded body frame, or returns
 * undefined when the frame holds anything else: another event (`bye`, `group`, …), a refusal
 * (`"ok":false`), an acknowledgement with more than numbers in its data (`"queued":true`) or any
 * other object. Every object of a chatz frame starts with `{"`, and V8 finds a `{` at memchr speed
 * while `"` is everywhere: this is why it beats several substring counts (Buffer.indexOf is a
 * JavaScript loop in Deno, about 4 ns a byte).
 */
export function countFrame(body: string): FrameCounts | undefined {
  let messages = 0;
  let presence = 0;
  let acks = 0;
  for (let i = body.indexOf('{"'); i >= 0; i = body.indexOf('{"', i + 2)) {
    switch (body.charCodeAt(i + 2)) {
      case 0x74: // t: {"type":"…"
        if (body.startsWith(MESSAGE, i)) messages++;
        else if (body.startsWith(PRESENCE, i)) presence++;
        else return undefined;
        break;
      case 0x72: { // r: {"re":<id>,"ok":…; its data object, if any, comes next
        if (!body.startsWith(REPLY, i)) return undefined;
        const ok = body.indexOf(OK, i + REPLY.length);
        if (ok < 0 || body.charCodeAt(ok + OK.length) !== 0x74) return undefined; // not `true`
        break;
      }
      case 0x69: { // i: {"id":<n>,"ts":<n>}, the data of a reply to a stored message
        if (!body.startsWith(ID, i) || !body.startsWith(DATA, i - DATA.length)) return undefined;
        const end = body.indexOf("}", i);
        const last = end < 0 ? 0 : body.charCodeAt(end - 1);
        if (last < 0x30 || last > 0x39) return undefined; // ends with more than a number
        acks++;
        break;
      }
      default:
        return undefined;
    }
  }
  return { messages, presence, acks };
}
