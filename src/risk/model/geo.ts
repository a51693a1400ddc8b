/**
 * Approximate centroids (latitude, longitude in degrees) of the countries the impossible-travel
 * feature knows. A country not listed is never judged (no factor rather than a wrong one).
 */
const CENTROIDS: Readonly<Record<string, readonly [number, number]>> = {
  AE: [24.0, 54.0],
  AR: [-34.0, -64.0],
  AT: [47.5, 14.6],
  AU: [-25.3, 133.8],
  BE: [50.5, 4.5],
  BG: [42.7, 25.5],
  BR: [-10.8, -52.9],
  CA: [56.1, -106.3],
  CH: [46.8, 8.2],
  CN: [35.9, 104.2],
  CO: [4.6, -74.3],
  CZ: [49.8, 15.5],
  DE: [51.2, 10.4],
  DK: [56.3, 9.5],
  EE: [58.6, 25.0],
  EG: [26.8, 30.8],
  ES: [40.5, -3.7],
  FI: [61.9, 25.7],
  FR: [46.2, 2.2],
  GB: [55.4, -3.4],
  GR: [39.1, 21.8],
  HK: [22.3, 114.2],
  HR: [45.1, 15.2],
  HU: [47.2, 19.5],
  ID: [-0.8, 113.9],
  IE: [53.4, -8.2],
  IL: [31.0, 34.9],
  IN: [20.6, 79.0],
  IT: [41.9, 12.6],
  JP: [36.2, 138.3],
  KE: [-0.0, 37.9],
  KR: [35.9, 127.8],
  LT: [55.2, 23.9],
  LU: [49.8, 6.1],
  LV: [56.9, 24.6],
  MA: [31.8, -7.1],
  MX: [23.6, -102.6],
  NG: [9.1, 8.7],
  NL: [52.1, 5.3],
  NO: [60.5, 8.5],
  NZ: [-40.9, 174.9],
  PH: [12.9, 121.8],
  PL: [51.9, 19.1],
  PT: [39.4, -8.2],
  RO: [45.9, 25.0],
  RU: [61.5, 105.3],
  SA: [23.9, 45.1],
  SE: [60.1, 18.6],
  SG: [1.35, 103.8],
  SI: [46.2, 14.995],
  SK: [48.7, 19.7],
  TH: [15.9, 101.0],
  TR: [39.0, 35.2],
  UA: [48.4, 31.2],
  US: [37.1, -95.7],
  VN: [14.1, 108.3],
  ZA: [-30.6, 22.9],
};

const EARTH_RADIUS_KM = 6371;
const RADIANS = Math.PI / 180;

/** Great-circle distance between two countries' centroids in km, or undefined if either is unknown. */
export function countryDistanceKm(from: string, to: string): number | undefined {
  const a = CENTROIDS[from];
  const b = CENTROIDS[to];
  if (!a || !b) return undefined;
  const dLat = (b[0] - a[0]) * RADIANS;
  const dLon = (b[1] - a[1]) * RADIANS;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[0] * RADIANS) * Math.cos(b[0] * RADIANS) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function knownCountries(): string[] {
  return Object.keys(CENTROIDS);
}
