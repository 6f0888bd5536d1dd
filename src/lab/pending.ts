/** Unschedulable pods, told once per reason: 9,670 pods with one message make one line, not 9,670. */
export interface Unschedulable {
  pod: string;
  message: string;
}

/** `N pods stay Pending: <message> (a, b, c and N−3 more)`, one line per distinct message, most pods first. */
export function pendingSummary(pods: Unschedulable[], verb = 'stay', shown = 3): string[] {
  const byMessage = new Map<string, string[]>();
  for (const u of pods) byMessage.set(u.message, [...(byMessage.get(u.message) ?? []), u.pod]);
  return [...byMessage]
    .sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))
    .map(([message, names]) => {
      if (names.length === 1) return `pod ${names[0]} ${verb === 'stay' ? 'stays' : 'is'} Pending: ${message}`;
      const list = names.slice(0, shown).join(', ') + (names.length > shown ? ` and ${names.length - shown} more` : '');
      return `${names.length} pods ${verb === 'stay' ? 'stay' : 'are'} Pending: ${message} (${list})`;
    });
}
