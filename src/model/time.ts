/**
 * Calendar arithmetic for `time`: units, durations ("1 week", "5 years") and ISO dates. A month is a twelfth
 * of a Julian year (30.4375 days) so that durations are exact numbers of model time units.
 */
export const UNIT_DAYS: Readonly<Record<string, number>> = Object.assign(Object.create(null), {
  second: 1 / 86400,
  minute: 1 / 1440,
  hour: 1 / 24,
  day: 1,
  week: 7,
  month: 365.25 / 12,
  year: 365.25,
});

const ALIASES: Readonly<Record<string, string>> = Object.assign(Object.create(null), {
  seconds: "second",
  s: "second",
  minutes: "minute",
  min: "minute",
  hours: "hour",
  h: "hour",
  days: "day",
  d: "day",
  weeks: "week",
  months: "month",
  years: "year",
  yr: "year",
});

/** The canonical name of a time unit ("weeks" → "week"), or undefined when it is not a calendar unit. */
export function canonicalUnit(unit: string): string | undefined {
  const u = unit.trim().toLowerCase();
  if (u in UNIT_DAYS) return u;
  return ALIASES[u];
}

const DURATION = /^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]+)\s*$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export interface Duration {
  amount: number;
  unit: string;
}

export function parseDuration(text: string): Duration | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const unit = canonicalUnit(m[2]!);
  if (!unit) return undefined;
  return { amount: Number(m[1]), unit };
}

export function isIsoDate(text: string): boolean {
  if (!ISO_DATE.test(text)) return false;
  const d = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text;
}

export function dateToDays(iso: string): number {
  return Date.parse(`${iso}T00:00:00Z`) / 86_400_000;
}

/** Model time (units since the origin date) → ISO date, to the day. */
export function modelTimeToDate(t: number, originIso: string, unit: string): string {
  const days = dateToDays(originIso) + t * UNIT_DAYS[unit]!;
  return new Date(Math.round(days) * 86_400_000).toISOString().slice(0, 10);
}

/**
 * An ISO date as model time (units since the origin date), or the message saying why it cannot be one: the
 * compiler and the claims share it.
 */
export function dateToModelTime(
  iso: string,
  time: { origin?: string; unit?: string },
): { value: number } | { error: string } {
  const unitDays = time.unit === undefined ? undefined : UNIT_DAYS[time.unit];
  if (time.origin === undefined || unitDays === undefined)
    return { error: `the date ${iso} needs a model whose time.start is a date` };
  return { value: (dateToDays(iso) - dateToDays(time.origin)) / unitDays };
}
