import { describe, expect, it } from 'vitest';
import { sqlNameKey } from './name-keys.js';
import { confirmedBy, sessionCommandOf } from './session-commands.js';

describe('sessionCommandOf', () => {
  it.each([
    ['select 1', null],
    ['PREPARE evil AS DELETE FROM t', { kind: 'prepare', name: 'evil' }],
    ['prepare Foo (int, text) as select $1', { kind: 'prepare', name: 'foo' }],
    ['PREPARE "Foo""x" AS SELECT 1', { kind: 'prepare', name: 'Foo"x' }],
    ["PREPARE TRANSACTION 'gid'", { kind: 'endTransaction' }],
    ['prepare transaction as select 1', { kind: 'prepare', name: 'transaction' }],
    ['  -- note\n /* a /* nested */ c */ DEALLOCATE s1', { kind: 'deallocate', name: 's1' }],
    ['deallocate prepare s1', { kind: 'deallocate', name: 's1' }],
    ['deallocate prepare', { kind: 'deallocate', name: 'prepare' }],
    ['DEALLOCATE ALL', { kind: 'deallocateAll' }],
    ['deallocate prepare all', { kind: 'deallocateAll' }],
    ['deallocate "all"', { kind: 'deallocate', name: 'all' }],
    ['deallocate U&"\\0061"', null],
    ['DISCARD ALL', { kind: 'discardAll' }],
    ['discard plans', null],
    ['DECLARE c CURSOR FOR SELECT 1', { kind: 'declare', name: 'c', hold: false }],
    ['declare c binary insensitive no scroll cursor with hold for select 1', { kind: 'declare', name: 'c', hold: true }],
    ['declare c cursor without hold for select 1', { kind: 'declare', name: 'c', hold: false }],
    ['CLOSE c', { kind: 'closeCursor', name: 'c' }],
    ['close all', { kind: 'closeAllCursors' }],
    ['COMMIT', { kind: 'endTransaction' }],
    ['end work', { kind: 'endTransaction' }],
    ["commit prepared 'gid'", null],
    ['ROLLBACK', { kind: 'endTransaction' }],
    ['abort', { kind: 'endTransaction' }],
    ['rollback work to savepoint a', null],
    ['rollback to a', null],
    ["rollback prepared 'gid'", null],
    ['commit and chain', { kind: 'endTransaction' }],
    ['create table deallocate (x int)', null],
    ['delete from t', null],
  ])('%j', (sql, expected) => {
    expect(sessionCommandOf(sql)).toEqual(expected);
  });

  it('takes a command as done only on its own command tag', () => {
    expect(confirmedBy({ kind: 'deallocate', name: 'a' }, 'DEALLOCATE')).toBe(true);
    expect(confirmedBy({ kind: 'deallocate', name: 'a' }, null)).toBe(false);
    expect(confirmedBy({ kind: 'deallocateAll' }, 'DEALLOCATE')).toBe(false);
    expect(confirmedBy({ kind: 'endTransaction' }, 'ROLLBACK')).toBe(true);
    expect(confirmedBy({ kind: 'declare', name: 'c', hold: false }, 'DECLARE CURSOR')).toBe(true);
  });
});

describe('sqlNameKey', () => {
  it('gives the bytes the server keys the name on', () => {
    expect(sqlNameKey('abc', 'UTF8')).toBe('abc');
    expect(sqlNameKey('é', 'UTF8')).toBe('\u00c3\u00a9');
    expect(sqlNameKey('é', 'LATIN1')).toBe('é');
    expect(sqlNameKey('é', 'EUC_JP')).toBeNull();
    expect(sqlNameKey('a'.repeat(70), 'UTF8')).toBe('a'.repeat(63));
    // Truncated at a character boundary, as the lexer truncates identifiers.
    expect(sqlNameKey(`${'a'.repeat(62)}é`, 'UTF8')).toBe('a'.repeat(62));
  });
});
