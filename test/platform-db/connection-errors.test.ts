import { runInNewContext } from 'node:vm';
import { isConnectionError } from '../../platform-db/connection-errors';

describe('isConnectionError', () => {
  it('knows socket codes, server-gone SQLSTATEs and pg client messages, and not statement errors', () => {
    expect(isConnectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('the database system is starting up'), { code: '57P03' }))).toBe(true);
    expect(isConnectionError(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionError(Object.assign(new Error('relation "x" does not exist'), { code: '42P01' }))).toBe(false);
    expect(isConnectionError(Object.assign(new Error('canceling statement due to lock timeout'), { code: '55P03' }))).toBe(false);
    expect(isConnectionError('ECONNREFUSED')).toBe(false);
    expect(isConnectionError(null)).toBe(false);
  });

  it('recognises an error made in another realm, which fails instanceof Error (socket errors inside a vm sandbox)', () => {
    const foreign = runInNewContext(`Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })`);
    expect(foreign instanceof Error).toBe(false);
    expect(isConnectionError(foreign)).toBe(true);
    expect(isConnectionError(runInNewContext(`new Error('Connection terminated unexpectedly')`))).toBe(true);
  });
});
