import { GraphQLScalarType } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';

/**
 * A time already in its canonical ISO 8601 form (`Date.prototype.toISOString`: UTC, milliseconds),
 * as scores carry theirs: a field of this type is served as it is, not parsed into a Date and
 * formatted again (0.7 µs a time, two a score).
 */
export type IsoTime = string;

const CANONICAL = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/** In the canonical form, and a day the month has: what `new Date(value).toISOString()` gives back unchanged. */
export function isCanonical(value: string): boolean {
  if (!CANONICAL.test(value)) return false;
  const day = Number(value.slice(8, 10));
  if (day <= 28) return true;
  const month = Number(value.slice(5, 7));
  if (month !== 2) return day <= (month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31);
  const year = Number(value.slice(0, 4));
  return day <= (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28);
}

/**
 * graphql-scalars' DateTime (the same name, input parsing and wire format), serialised to the ISO
 * string it stands for. Its own serialize returns a Date, which JSON.stringify turns into the same
 * string through toJSON: a response holding Dates leaves V8's fast serialiser (a hundred scores
 * with two times each: 190 against 35 µs). An IsoTime goes out as it is.
 */
export const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  serialize: (value) => (typeof value === 'string' && isCanonical(value) ? value : (DateTimeResolver.serialize(value) as Date).toISOString()),
});
