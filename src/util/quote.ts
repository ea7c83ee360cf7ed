/**
 * A user's value as an error message may echo it: in single quotes, control
 * characters (and the quote and backslash) escaped the way JSON escapes
 * them, and cut after QUOTE_MAX characters, so a message stays one line of
 * bounded length whatever the value holds.
 */
export const QUOTE_MAX = 80;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f', "'": "\\'", '\\': '\\\\' };

function escapeChar(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const code = ch.charCodeAt(0);
  // C0 and C1 controls, DEL, and the Unicode line/paragraph separators break lines or terminals.
  if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029) return `\\u${code.toString(16).padStart(4, '0')}`;
  return ch;
}

/** `text` quoted for a one-line message: 'a\nb', long values cut with an ellipsis and their length. */
export function quote(text: unknown): string {
  const s = String(text);
  const cut = s.length > QUOTE_MAX;
  const body = Array.from(cut ? s.slice(0, QUOTE_MAX) : s, escapeChar).join('');
  return cut ? `'${body}'... (${s.length} characters)` : `'${body}'`;
}

/** One line: any control character in an already composed message escaped (no quotes added, no cut). */
export function oneLine(text: string): string {
  return Array.from(text, (ch) => (ch === "'" || ch === '\\' ? ch : escapeChar(ch))).join('');
}
