/**
 * The API key lives in sessionStorage only: gone when the tab closes, never in localStorage or a
 * cookie, and sent nowhere but this gateway's /graphql.
 */
const STORAGE_KEY = 'tollgraph.apiKey';

export const KEY_PATTERN = /^tg_(live|test)_[A-Za-z0-9]{20,64}$/;

export function storedKey(): string | null {
  try {
    return window.sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function storeKey(key: string): void {
  try {
    window.sessionStorage.setItem(STORAGE_KEY, key);
  } catch {
    // Storage disabled: the key lives in memory for this page only.
  }
}

export function forgetKey(): void {
  try {
    window.sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // nothing stored
  }
}
