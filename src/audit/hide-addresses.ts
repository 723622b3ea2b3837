const ADDRESS = /[^\s@()<>,;:"'[\]]+@[^\s@()<>,;:"'[\]]+\.[^\s@()<>,;:"'[\]]*[^\s@()<>,;:"'[\].]/g;

/** Hides every e-mail address in `text` except those in `keep` (lower-cased), for audit details shown outside /audit. */
export function hideAddresses(text: string, keep: ReadonlySet<string>): string {
  return text.replace(ADDRESS, (address) => (keep.has(address.toLowerCase()) ? address : '(address hidden)'));
}
