/**
 * Text that came from the user (a name, a file's bytes) made safe to print on a terminal: control
 * characters and the C1 range are shown as escapes, so a name with a newline cannot forge an output
 * line and garbage bytes cannot move the cursor. Long text is cut.
 */
export function printable(value: unknown, max = 200): string {
  const text = typeof value === 'string' ? value : String(value);
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return cut.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}
