/**
 * xsd:dateTime values (RFC 7643 §2.3.5) as SCIM, GraphQL and the custom attributes take them.
 */

const DATE_TIME_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

export interface ParsedDateTime {
  /** Normalised RFC 3339 text safe to hand to PostgreSQL's `timestamptz` input (zone always explicit). */
  iso: string;
  /** Milliseconds since the epoch (sub-millisecond digits are ignored). */
  epochMs: number;
}

/**
 * Parses an xsd:dateTime as used by SCIM (RFC 7643 §2.3.5, e.g. `2011-05-13T04:42:34Z`), strictly enough that
 * PostgreSQL will never reject the normalised text with a cast error: every field is range-checked
 * (`2024-02-30` is refused, where `Date.parse` would roll over). Lenient where it is harmless: a date alone
 * means midnight, seconds are optional, and a value without an offset is taken as UTC (SCIM servers and
 * IdPs exchange UTC timestamps; PostgreSQL would otherwise apply the session time zone).
 */
export function parseDateTime(text: string): ParsedDateTime | undefined {
  const m = DATE_TIME_RE.exec(text);
  if (!m) return undefined;
  const [, ys, mos, ds, hs = '00', mis = '00', ss = '00', frac = '', zone = 'Z'] = m;
  const y = Number(ys);
  const mo = Number(mos);
  const d = Number(ds);
  const h = Number(hs);
  const mi = Number(mis);
  const s = Number(ss);
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const daysInMonth = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d > daysInMonth) return undefined;

  let offsetMinutes = 0;
  let zoneText = 'Z';
  if (zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 14 || om > 59) return undefined;
    offsetMinutes = sign * (oh * 60 + om);
    zoneText = `${zone[0]}${digits.slice(0, 2)}:${String(om).padStart(2, '0')}`;
  }

  const base = Date.UTC(y, mo - 1, d, h, mi, s);
  // Date.UTC maps years 0–99 to 1900–1999; fix the year explicitly.
  const fixed = new Date(base);
  fixed.setUTCFullYear(y);
  const ms = frac ? Math.floor(Number(`0${frac}`) * 1000) : 0;
  const epochMs = fixed.getTime() + ms - offsetMinutes * 60_000;
  const iso = `${ys}-${mos}-${ds}T${hs}:${mis}:${ss}${frac}${zoneText}`;
  return { iso, epochMs };
}
