/** Semantic Versioning 2.0.0 (semver.org): parsing and precedence, all the catalog needs. */

// The regular expression semver.org recommends (numbered groups).
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

interface SemVer {
  core: [bigint, bigint, bigint];
  prerelease: string[];
}

function parse(version: string): SemVer | undefined {
  const match = SEMVER.exec(version);
  if (!match) return undefined;
  return { core: [BigInt(match[1]), BigInt(match[2]), BigInt(match[3])], prerelease: match[4] ? match[4].split('.') : [] };
}

export function isSemver(version: string): boolean {
  return version.length <= 100 && SEMVER.test(version);
}

const NUMERIC = /^\d+$/;

function compareIdentifiers(a: string, b: string): number {
  const aNumeric = NUMERIC.test(a);
  const bNumeric = NUMERIC.test(b);
  if (aNumeric && bNumeric) {
    const [x, y] = [BigInt(a), BigInt(b)];
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (aNumeric !== bNumeric) return aNumeric ? -1 : 1; // numeric identifiers sort first
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Precedence of two versions: negative, zero or positive. Build metadata is ignored, and a
 * pre-release sorts before its release (1.0.0-rc.1 < 1.0.0), as semver.org §11 says.
 */
export function compareSemver(a: string, b: string): number {
  const left = parse(a);
  const right = parse(b);
  if (!left || !right) throw new Error(`not a semantic version: ${left ? b : a}`);
  for (let i = 0; i < 3; i++) {
    if (left.core[i] !== right.core[i]) return left.core[i] < right.core[i] ? -1 : 1;
  }
  // A release outranks any of its pre-releases.
  if (!left.prerelease.length) return right.prerelease.length ? 1 : 0;
  if (!right.prerelease.length) return -1;
  for (let i = 0; i < Math.max(left.prerelease.length, right.prerelease.length); i++) {
    if (i >= left.prerelease.length) return -1;
    if (i >= right.prerelease.length) return 1;
    const order = compareIdentifiers(left.prerelease[i], right.prerelease[i]);
    if (order) return order;
  }
  return 0;
}
