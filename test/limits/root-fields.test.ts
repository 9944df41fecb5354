import { getOperationAST, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { rootFieldCalls } from '../../src/limits/rate-limit-plugin';

const callsOf = (source: string) => {
  const document = parse(source);
  return rootFieldCalls(document, getOperationAST(document)!.selectionSet).sort();
};

describe('root field calls of a mutation (each counts against its budget)', () => {
  it('counts every alias as a call, merged duplicates once, and never __typename', () => {
    expect(
      callsOf('mutation { a: createOrder(input: {}) { id } b: createOrder(input: {}) { id } __typename }'),
    ).toEqual(['createOrder', 'createOrder']);
    expect(callsOf('mutation { markAllNotificationsRead markAllNotificationsRead }')).toEqual([
      'markAllNotificationsRead',
    ]);
  });

  it('sees through inline fragments and fragment spreads, even recursive ones', () => {
    const source = `
      mutation { ...M ... on Mutation { bumpTicket(ticketId: "t") { id } } }
      fragment M on Mutation { markAllNotificationsRead ...M }
    `;
    expect(callsOf(source)).toEqual(['bumpTicket', 'markAllNotificationsRead']);
  });
});
