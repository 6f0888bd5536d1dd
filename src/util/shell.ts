/** A single-quoted word for sh: safe for any text, including quotes. */
export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
