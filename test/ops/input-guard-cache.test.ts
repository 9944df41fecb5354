import { buildSchema, type ExecutionArgs, type ExecutionResult, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { inputGuardPlugin } from '../../src/server/input-guard';

const schema = buildSchema(`
  input Note { text: String }
  type Query { echo(text: String, note: Note): String, other: String }
`);

/** Runs the guard's onExecute hook as envelop does; the result it stopped execution with, if any. */
function guard(document: ExecutionArgs['document'], variableValues: Record<string, unknown>) {
  const hook = inputGuardPlugin({ hideSuggestions: true }).onExecute as (payload: unknown) => void;
  let stopped: ExecutionResult | undefined;
  hook({
    args: { schema, document, variableValues, contextValue: {} },
    setResultAndStopExecution: (result: ExecutionResult) => {
      stopped = result;
    },
  });
  return stopped;
}

describe('input guard on a repeated document', () => {
  it("walks a document's fields once but checks every request's own arguments", () => {
    // One object, as yoga's parser cache hands the same query text to every request.
    const document = parse('query ($t: String, $n: Note) { echo(text: $t) again: echo(note: $n) other }');
    expect(guard(document, { t: 'fine', n: { text: 'fine' } })).toBeUndefined();
    expect(guard(document, { t: 'no\u0000pe' })?.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'text',
      reason: 'NUL_CHARACTER',
    });
    expect(guard(document, { t: 'fine', n: { text: '\uD800' } })?.errors?.[0]?.extensions).toMatchObject({
      field: 'note.text',
      reason: 'UNPAIRED_SURROGATE',
    });
    expect(guard(document, { t: 'fine again' })).toBeUndefined();
  });

  it('checks fields inside fragments, whichever operation of the document runs', () => {
    const document = parse(`
      fragment Echoed on Query { echo(text: $t) }
      query A($t: String) { ...Echoed }
      query B($t: String) { other ...Echoed }
    `);
    for (const operationName of ['A', 'B']) {
      const hook = inputGuardPlugin({ hideSuggestions: true }).onExecute as (payload: unknown) => void;
      let stopped: ExecutionResult | undefined;
      hook({
        args: { schema, document, operationName, variableValues: { t: 'x\u0000' }, contextValue: {} },
        setResultAndStopExecution: (result: ExecutionResult) => {
          stopped = result;
        },
      });
      expect(stopped?.errors?.[0]?.extensions).toMatchObject({ reason: 'NUL_CHARACTER' });
    }
  });
});
