import { expect } from 'vitest';

/** How GraphiQL shows a socket closed with 4401 for want of a token. */
export const NO_TOKEN_REFUSAL = {
  message: 'WebSocket closed with 4401 Unauthorized: Authentication required',
  extensions: {
    code: 'UNAUTHENTICATED',
    closeCode: 4401,
    reason: 'Authentication required',
    whatToDo: expect.stringContaining('{"Authorization": "Bearer <token>"} in the Headers tab'),
  },
};
