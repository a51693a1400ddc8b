import { Field, ObjectType, type ClassType } from 'type-graphql';

@ObjectType({ description: 'Where a page ends and whether another follows (cursor pagination)' })
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true, description: 'Pass as `after` to get the next page' })
  endCursor!: string | null;
}

/** A cursor connection of `node`s: `class XConnection extends Connection(X) {}`. */
export function Connection<T extends object>(node: ClassType<T>) {
  @ObjectType()
  abstract class ConnectionClass {
    @Field(() => [node])
    nodes!: T[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;
  }
  return ConnectionClass;
}

export function page<T>(nodes: T[], hasNextPage: boolean, cursorOf: (node: T) => string): { nodes: T[]; pageInfo: PageInfo } {
  return { nodes, pageInfo: { hasNextPage, endCursor: nodes.length ? cursorOf(nodes[nodes.length - 1]) : null } };
}
