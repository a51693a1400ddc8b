import { badInput } from '../errors';

type Kind = 'string' | 'number';
type Position<K extends readonly Kind[]> = { -readonly [I in keyof K]: K[I] extends 'number' ? number : string };

/**
 * The one cursor format of every connection: the last node's position in the connection's order
 * (the values it sorts by), as base64url JSON. Opaque to clients: only `after` takes it back.
 */
export function encodeCursor(position: ReadonlyArray<string | number>): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

const notACursor = () => badInput('after is not a cursor from this connection', { fields: ['after'] });

/** The position an `after` cursor holds, of the connection's shape (`kinds`); anything else is BAD_USER_INPUT on `after`. */
export function decodeCursor<const K extends readonly Kind[]>(after: string, kinds: K): Position<K> {
  let position: unknown;
  try {
    position = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'));
  } catch {
    throw notACursor();
  }
  if (
    !Array.isArray(position) ||
    position.length !== kinds.length ||
    position.some((value, i) => typeof value !== kinds[i] || (typeof value === 'number' && !Number.isFinite(value)))
  )
    throw notACursor();
  return position as Position<K>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The cursor of a node in a connection ordered by (time-ordered) UUID ids. */
export const idCursorOf = (node: { id: string }) => encodeCursor([node.id]);

/** The id an `after` cursor of such a connection holds. */
export function idCursor(after: string | null | undefined): string | undefined {
  if (after === null || after === undefined) return undefined;
  const [id] = decodeCursor(after, ['string']);
  if (!UUID.test(id)) throw notACursor();
  return id;
}
