import { DateTime } from '../../src/graphql/date-time';

describe('the DateTime scalar', () => {
  it('serialises to the ISO string, never a Date (a Date takes JSON.stringify off its fast path)', () => {
    expect(DateTime.serialize(new Date('2026-12-05T06:56:25.606Z'))).toBe('2026-12-05T06:56:25.606Z');
    // A canonical string (as scores carry their times) goes out as it is; any other form is normalised.
    const canonical = '2026-12-05T06:56:25.606Z';
    expect(DateTime.serialize(canonical)).toBe(canonical);
    expect(DateTime.serialize('2026-12-05T07:56:25+01:00')).toBe('2026-12-05T06:56:25.000Z');
    expect(DateTime.serialize(Date.parse(canonical))).toBe(canonical);
  });

  it('refuses what is not a time, canonical-looking or not', () => {
    expect(() => DateTime.serialize('2026-02-30T10:00:00.000Z')).toThrow();
    expect(() => DateTime.serialize('2026-04-31T10:00:00.000Z')).toThrow();
    expect(() => DateTime.serialize('2026-02-29T10:00:00.000Z')).toThrow();
    expect(DateTime.serialize('2028-02-29T10:00:00.000Z')).toBe('2028-02-29T10:00:00.000Z');
    expect(DateTime.serialize('2026-12-31T23:59:59.999Z')).toBe('2026-12-31T23:59:59.999Z');
    expect(() => DateTime.serialize('yesterday')).toThrow();
    expect(() => DateTime.serialize(new Date(Number.NaN))).toThrow();
  });

  it('keeps graphql-scalars’ name and input parsing', () => {
    expect(DateTime.name).toBe('DateTime');
    expect(DateTime.parseValue('2026-12-05T06:56:25.606Z')).toEqual(new Date('2026-12-05T06:56:25.606Z'));
  });
});
