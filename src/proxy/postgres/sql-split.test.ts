import { describe, expect, it } from 'vitest';
import { splitStatements } from './sql-split.js';

const texts = (query: string, standardConformingStrings = true) => splitStatements(query, { standardConformingStrings }).map((piece) => piece.text);

describe('splitStatements', () => {
  it.each([
    ['select 1', ['select 1']],
    ['SELECT abalance FROM pgbench_accounts WHERE aid = 1;', ['SELECT abalance FROM pgbench_accounts WHERE aid = 1;']],
    ['select 1; select 2', ['select 1', 'select 2']],
    ['select 1;;  ; select 2;', ['select 1', 'select 2']],
    ["select ';'; select 'it''s;'", ["select ';'", "select 'it''s;'"]],
    ['select "a;b" from t; select 2', ['select "a;b" from t', 'select 2']],
    ["select E'\\';'; select 2", ["select E'\\';'", 'select 2']],
    ['select $$;$$; select $fn$ a; $$ ; $fn$; select 3', ['select $$;$$', 'select $fn$ a; $$ ; $fn$', 'select 3']],
    ['select $1; select a$b; select 2', ['select $1', 'select a$b', 'select 2']],
    ['select 1 -- c;\n; select 2', ['select 1 -- c;', 'select 2']],
    ['select /* a /* nested; */ ; */ 1; select 2', ['select /* a /* nested; */ ; */ 1', 'select 2']],
    ['create rule r as on insert to t do (insert into a values (1); insert into b values (2)); select 1', ['create rule r as on insert to t do (insert into a values (1); insert into b values (2))', 'select 1']],
    ["select U&'d\\0061t;a'; select 2", ["select U&'d\\0061t;a'", 'select 2']],
    [
      'CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC select 1; select case when true then 2 end; END; select f()',
      ['CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC select 1; select case when true then 2 end; END', 'select f()'],
    ],
    ['create or replace procedure p() begin atomic insert into t values (1); end; call p()', ['create or replace procedure p() begin atomic insert into t values (1); end', 'call p()']],
    ['begin; select 1; commit;', ['begin', 'select 1', 'commit']],
  ])('%j', (query, expected) => {
    expect(texts(query)).toEqual(expected);
  });

  it('treats backslashes as escapes in every string when standard_conforming_strings is off', () => {
    expect(texts("select '\\';'; select 2", false)).toEqual(["select '\\';'", 'select 2']);
    expect(texts("select '\\'; select 2", true)).toEqual(["select '\\'", 'select 2']);
  });

  it('keeps the query as one piece when it holds no statement', () => {
    expect(texts('')).toEqual(['']);
    expect(texts(' -- nothing ;\n ; ')).toEqual([' -- nothing ;\n ; ']);
  });

  it('reports where each statement lies, for error positions', () => {
    const query = '  select 1 ;\n select 2';
    expect(splitStatements(query).map(({ start, end }) => query.slice(start, end))).toEqual(['select 1', 'select 2']);
  });
});
