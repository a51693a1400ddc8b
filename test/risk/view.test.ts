import { encodeView, eventTimeMs, factorsJson, scoreView, type RiskScoreView } from '../../src/risk/view';
import { sampleTransaction } from './support';

const view = (factors: RiskScoreView['factors'], customerId = 'c-1'): RiskScoreView => ({
  customerId,
  eventId: '9f1c1d4e-0000-4000-8000-000000000001',
  score: 350,
  band: 'MEDIUM',
  factors,
  eventTime: '2026-12-05T10:00:00.000Z',
  computedAt: '2026-12-05T10:00:00.005Z',
  modelVersion: 'risk-v1',
});

describe('a score as it travels', () => {
  it('hands the history its factors as their own JSON, whatever the texts inside hold', () => {
    const tricky = [
      view([]),
      view([{ code: 'NEW_MERCHANT', contribution: 100, detail: 'first transaction at merchant m-1' }]),
      view([
        { code: 'NEW_DEVICE', contribution: 80, detail: 'device "x","eventTime":"2026" \\ \n tab\t' },
        { code: 'NEW_COUNTRY', contribution: 60, detail: '"factors":[] ünïcödé ✓' },
      ]),
      view([{ code: 'CARD_TESTING', contribution: 40, detail: ',"eventTime":"' }], '"factors":'),
    ];
    for (const score of tricky) {
      expect(factorsJson(score)).toBe(JSON.stringify(score.factors));
      expect(encodeView(score)).toBe(JSON.stringify(score));
    }
  });

  it('serialises a pipeline score once, and never hands a copy made by spreading it the original’s JSON', () => {
    const factors: RiskScoreView['factors'] = [{ code: 'NEW_MERCHANT', contribution: 100, detail: 'first transaction at merchant m-1' }];
    const score = scoreView(sampleTransaction({ timestamp: '2026-12-05T10:00:00.000Z' }), { score: 350, band: 'MEDIUM', factors }, '2026-12-05T10:00:00.005Z');
    expect(Object.keys(score)).toEqual(['customerId', 'eventId', 'score', 'band', 'factors', 'eventTime', 'computedAt', 'modelVersion']);
    const stringify = jest.spyOn(JSON, 'stringify');
    let json: string;
    try {
      json = encodeView(score);
      expect(encodeView(score)).toBe(json);
      expect(factorsJson(score)).toBe(JSON.stringify(factors));
      expect(stringify).toHaveBeenCalledTimes(2); // the score once, and the expectation's own call
    } finally {
      stringify.mockRestore();
    }
    expect(JSON.parse(json)).toEqual({ ...score });
    const changed = { ...score, score: 1 };
    expect(JSON.parse(encodeView(changed))).toEqual({ ...JSON.parse(json), score: 1 });
  });

  it('serialises the factors on their own for a score whose keys come in another order', () => {
    const { factors, ...rest } = view([{ code: 'NEW_MERCHANT', contribution: 100, detail: 'first transaction at merchant m-1' }]);
    const reordered = { ...rest, factors } as RiskScoreView;
    expect(factorsJson(reordered)).toBe(JSON.stringify(factors));
  });
});

describe('a score’s event time', () => {
  const tx = (timestamp: string) => sampleTransaction({ timestamp });
  const assessment = { score: 0, band: 'LOW' as const, factors: [] };

  it('is the event’s own timestamp when that is canonical, and the canonical form of any other', () => {
    const cases: Array<[string, string]> = [
      ['2026-12-05T10:00:00.123Z', '2026-12-05T10:00:00.123Z'],
      ['2024-02-29T23:59:59.999Z', '2024-02-29T23:59:59.999Z'],
      ['2026-12-05T12:00:00.123+02:00', '2026-12-05T10:00:00.123Z'],
      ['2026-12-05T10:00:00Z', '2026-12-05T10:00:00.000Z'],
      ['2026-12-05T10:00:00.5Z', '2026-12-05T10:00:00.500Z'],
    ];
    for (const [timestamp, eventTime] of cases) expect(scoreView(tx(timestamp), assessment, '2026-12-05T10:00:01.000Z').eventTime).toBe(eventTime);
  });

  it('is kept in ms from the event on a pipeline score (not parsed again), and parsed from eventTime on any other', () => {
    const score = scoreView(tx('2026-12-05T12:00:00.123+02:00'), assessment, '2026-12-05T10:00:01.000Z');
    const parse = jest.spyOn(Date, 'parse');
    try {
      expect(eventTimeMs(score)).toBe(Date.UTC(2026, 11, 5, 10, 0, 0, 123));
      expect(parse).not.toHaveBeenCalled();
      expect(eventTimeMs({ ...score })).toBe(Date.UTC(2026, 11, 5, 10, 0, 0, 123));
      expect(parse).toHaveBeenCalledWith('2026-12-05T10:00:00.123Z');
    } finally {
      parse.mockRestore();
    }
  });
});
