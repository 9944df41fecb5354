import { getOperationAST, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { rootFieldNames } from '../../src/limits/rate-limit-plugin';

const fieldsOf = (source: string) => {
  const document = parse(source);
  return rootFieldNames(document, getOperationAST(document)!.selectionSet);
};

describe('root fields of a mutation (each has its own budget)', () => {
  it('names each top-level field once, aliased or not, without __typename', () => {
    expect(
      fieldsOf('mutation { a: createOrder(input: {}) { id } b: createOrder(input: {}) { id } __typename }'),
    ).toEqual(['createOrder']);
  });

  it('sees through inline fragments and fragment spreads, even recursive ones', () => {
    const source = `
      mutation { ...M ... on Mutation { bumpTicket(ticketId: "t") { id } } }
      fragment M on Mutation { markAllNotificationsRead ...M }
    `;
    expect(fieldsOf(source).sort()).toEqual(['bumpTicket', 'markAllNotificationsRead']);
  });
});
