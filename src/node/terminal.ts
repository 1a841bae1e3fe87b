/**
 * Text for a terminal. Names and strings in a model file reach the CLI's tables and messages; control
 * characters among them (ESC starts a terminal escape sequence: retitle the window, rewrite the screen, hide text)
 * and bidirectional overrides are shown as visible `\xNN` / `\uNNNN` escapes instead of being sent raw.
 * Newlines and tabs stay as they are: the CLI's own layout uses them.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
