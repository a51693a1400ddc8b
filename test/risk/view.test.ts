import { encodeView, factorsJson, type RiskScoreView } from '../../src/risk/view';

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
});
