// The PostgreSQL driver's pure parts: placeholder rewriting and start-up error messages.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeConnectError, describeTarget } from '../../src/store/postgres/connect-errors.js';
import { postgresDialect, toPositional } from '../../src/store/postgres/dialect.js';

describe('toPositional', () => {
  test('numbers placeholders in order', () => {
    assert.equal(toPositional('SELECT a FROM t WHERE b = ? AND c IN (?, ?) LIMIT ?'), 'SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) LIMIT $4');
    assert.equal(toPositional('SELECT 1'), 'SELECT 1');
  });

  test('leaves ? inside string literals, quoted identifiers and comments alone', () => {
    assert.equal(toPositional(`SELECT '?', 'it''s ?', "we?ird" FROM t WHERE a = ? -- why?\nAND b = ?`), `SELECT '?', 'it''s ?', "we?ird" FROM t WHERE a = $1 -- why?\nAND b = $2`);
    assert.equal(toPositional(`SELECT '''' || ? || ''''`), `SELECT '''' || $1 || ''''`);
    assert.equal(toPositional(`SELECT "a""?" , ?`), `SELECT "a""?" , $1`);
  });

  test('returns the same text for the same SQL (cached)', () => {
    const sql = 'SELECT ? AS cached';
    assert.equal(toPositional(sql), toPositional(sql));
  });
});

describe('postgres dialect', () => {
  test('classifies SQLSTATEs', () => {
    assert.equal(postgresDialect.isUniqueViolation({ code: '23505' }), true);
    assert.equal(postgresDialect.isUniqueViolation({ code: '23503' }), false);
    assert.equal(postgresDialect.isRetryable({ code: '40001' }), true);
    assert.equal(postgresDialect.isRetryable({ code: '40P01' }), true);
    assert.equal(postgresDialect.isRetryable({ code: '57014' }), false);
    assert.equal(postgresDialect.isRetryable(new Error('x')), false);
    assert.equal(postgresDialect.isRetryable(null), false);
  });
});

describe('start-up errors', () => {
  const target = describeTarget('postgres://kiln:s3cret@db.example:6543/fhir');

  test('the target names host, port, database and user, never the password', () => {
    assert.deepEqual(target, { host: 'db.example', port: '6543', database: 'fhir', user: 'kiln' });
    assert.deepEqual(describeTarget('postgresql://u@h/d'), { host: 'h', port: '5432', database: 'd', user: 'u' });
  });

  test('malformed URLs are refused without echoing them', () => {
    assert.throws(() => describeTarget('not a url s3cret'), (error: Error) => /^Invalid database URL/.test(error.message) && !error.message.includes('s3cret'));
    assert.throws(() => describeTarget('mysql://u:s3cret@h/d'), (error: Error) => /postgres:\/\//.test(error.message) && !error.message.includes('s3cret'));
  });

  test('say why in one line', () => {
    const cases: [unknown, RegExp][] = [
      [Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:6543'), { code: 'ECONNREFUSED' }), /^Cannot connect to PostgreSQL at db\.example:6543: connection refused/],
      [Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]), {}), /connection refused/],
      [Object.assign(new Error('getaddrinfo ENOTFOUND db.example'), { code: 'ENOTFOUND' }), /: host not found$/],
      [Object.assign(new Error('password authentication failed for user "kiln"'), { code: '28P01' }), /\(database 'fhir', user 'kiln'\): authentication failed: password authentication failed/],
      [Object.assign(new Error('database "fhir" does not exist'), { code: '3D000' }), /database does not exist/],
      [new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string'), /authentication failed: the server asks for a password/],
      [new Error('Connection terminated due to connection timeout'), /: connection timed out$/],
    ];
    for (const [error, expected] of cases) {
      const message = describeConnectError(error, target);
      assert.match(message, expected);
      assert.equal(message.includes('\n'), false);
      assert.equal(message.includes('s3cret'), false);
    }
  });
});
