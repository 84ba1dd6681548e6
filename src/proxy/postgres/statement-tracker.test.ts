import { serialize } from 'pg-protocol';
import { describe, expect, it } from 'vitest';
import { be } from '../../../test/helpers/pg-backend-messages.js';
import { CaptureHarness } from '../../../test/helpers/pg-capture-harness.js';
import { functionCall } from '../../../test/helpers/pg-protocol-streams.js';
import { ProxyError } from '../errors.js';

const HIDDEN = "SELECT 'HIDDEN-'||count(*) FROM t";
const parse = (name: string, text: string) => serialize.parse({ name, text });
const bind = (statement = '', portal = '', values: string[] = []) => serialize.bind({ statement, portal, values });
const execute = (portal = '', rows = 0) => serialize.execute({ portal, rows });
const sync = () => serialize.sync();
const query = (text: string) => serialize.query(text);

describe('StatementTracker: a Parse counts when the server confirms it', () => {
  it('logs the statement the server ran when a second Parse of the name is refused (42P05)', async () => {
    const h = new CaptureHarness();
    h.client(parse('s1', HIDDEN), sync()).server(be.parseComplete(), be.ready());
    h.client(parse('s1', "SELECT 'harmless'"), sync()).server(be.error('42P05', 'prepared statement "s1" already exists'), be.ready());
    h.client(bind('s1'), execute(), sync()).server(be.bindComplete(), be.dataRow('HIDDEN-3'), be.complete('SELECT 1'), be.ready());
    expect(await h.summary()).toEqual([
      ["SELECT 'harmless'", 'error', null, '42P05'],
      [HIDDEN, 'ok', 'SELECT 1', null],
    ]);
  });

  it('holds a Bind sent after Sync behind an unanswered Parse of its name, and logs what the server ran', async () => {
    const h = new CaptureHarness();
    h.client(parse('s1', HIDDEN), sync()).server(be.parseComplete(), be.ready());
    h.client(parse('s1', "SELECT 'harmless'"), sync(), bind('s1'), execute(), sync());
    expect(h.forwarded).toEqual(['parse', 'sync', 'parse', 'sync']);
    expect(h.holding).toBe(true);
    h.server(be.error('42P05'), be.ready());
    expect(h.forwarded.slice(4)).toEqual(['bind', 'execute', 'sync']);
    h.server(be.bindComplete(), be.dataRow(), be.complete('SELECT 1'), be.ready());
    expect((await h.summary()).at(-1)).toEqual([HIDDEN, 'ok', 'SELECT 1', null]);
  });

  it('does not take the text of a Parse the server skipped after an error in its batch', async () => {
    const h = new CaptureHarness();
    h.client(parse('s2', 'DELETE FROM t WHERE id=2'), sync()).server(be.parseComplete(), be.ready());
    h.client(parse('', 'selec 1'), parse('s2', 'SELECT 2'), sync()).server(be.error('42601'), be.ready());
    h.client(bind('s2'), execute(), sync()).server(be.bindComplete(), be.complete('DELETE 1'), be.ready());
    expect(await h.summary()).toEqual([
      ['selec 1', 'error', null, '42601'],
      ['DELETE FROM t WHERE id=2', 'ok', 'DELETE 1', null],
    ]);
  });

  it('within one batch, names the skipped Execute after what it would have run, and the error after its own statement', async () => {
    const h = new CaptureHarness();
    h.client(parse('s2', 'DELETE FROM t WHERE id=2'), sync()).server(be.parseComplete(), be.ready());
    h.client(parse('', 'selec 1'), parse('s2', 'SELECT 2'), bind('s2'), execute(), sync()).server(be.error('42601'), be.ready());
    expect(h.holding).toBe(false);
    expect(await h.summary()).toEqual([
      ['SELECT 2', 'skipped', null, null],
      ['selec 1', 'error', null, '42601'],
    ]);
  });

  it('treats names alike in their first 63 bytes as the one name the server keeps', async () => {
    const h = new CaptureHarness();
    const stem = 'a'.repeat(63);
    h.client(parse(`${stem}X`, "SELECT 'X'"), sync()).server(be.parseComplete(), be.ready());
    h.client(parse(`${stem}Y`, "SELECT 'Y'"), sync()).server(be.error('42P05'), be.ready());
    h.client(bind(`${stem}Y`), execute(), sync()).server(be.bindComplete(), be.dataRow('X'), be.complete('SELECT 1'), be.ready());
    expect((await h.summary()).at(-1)).toEqual(["SELECT 'X'", 'ok', 'SELECT 1', null]);
  });

  it('drops the unnamed statement when a Parse of it fails, and when a simple Query runs', async () => {
    const h = new CaptureHarness();
    h.client(parse('', "SELECT 'U1'"), sync()).server(be.parseComplete(), be.ready());
    h.client(parse('', 'selec'), sync()).server(be.error('42601'), be.ready());
    h.client(bind(), execute(), sync()).server(be.error('26000', 'unnamed prepared statement does not exist'), be.ready());
    h.client(parse('', "SELECT 'U2'"), sync()).server(be.parseComplete(), be.ready());
    h.client(query('select 1')).server(be.rowDescription(), be.dataRow(), be.complete('SELECT 1'), be.ready());
    h.client(bind(), execute(), sync()).server(be.error('26000'), be.ready());
    const rows = await h.rows();
    expect(rows.map((r) => [r.statement, r.status, r.sqlstate, r.details?.phase])).toEqual([
      ['selec', 'error', '42601', 'parse'],
      ['(unknown prepared statement "")', 'error', '26000', 'bind'],
      ['select 1', 'ok', null, undefined],
      ['(unknown prepared statement "")', 'error', '26000', 'bind'],
    ]);
    expect(rows[1]!.details).toMatchObject({ unknownStatement: true });
  });

  it('removes a statement on CloseComplete, not when a Close is skipped', async () => {
    const h = new CaptureHarness();
    h.client(parse('a', 'SELECT 1'), parse('b', 'SELECT 2'), sync()).server(be.parseComplete(), be.parseComplete(), be.ready());
    h.client(serialize.close({ type: 'S', name: 'a' }), sync()).server(be.closeComplete(), be.ready());
    h.client(parse('', 'selec'), serialize.close({ type: 'S', name: 'b' }), sync()).server(be.error('42601'), be.ready());
    h.client(bind('a'), execute(), sync()).server(be.error('26000'), be.ready());
    h.client(bind('b'), execute(), sync()).server(be.bindComplete(), be.dataRow(), be.complete('SELECT 1'), be.ready());
    expect((await h.summary()).slice(1)).toEqual([
      ['(unknown prepared statement "a")', 'error', null, '26000'],
      ['SELECT 2', 'ok', 'SELECT 1', null],
    ]);
  });

  it('takes the text of a SQL PREPARE, and forgets it on DEALLOCATE only when that ran', async () => {
    const h = new CaptureHarness();
    h.client(query('PREPARE Del AS DELETE FROM t')).server(be.complete('PREPARE'), be.ready());
    h.client(bind('del', '', []), execute(), sync()).server(be.bindComplete(), be.complete('DELETE 3'), be.ready());
    h.client(query('select 1/0; deallocate del')).server(be.error('22012'), be.ready());
    h.client(bind('del'), execute(), sync()).server(be.bindComplete(), be.complete('DELETE 0'), be.ready());
    h.client(query('/* bye */ DEALLOCATE PREPARE "del"')).server(be.complete('DEALLOCATE'), be.ready());
    h.client(bind('del'), execute(), sync()).server(be.error('26000'), be.ready());
    expect(await h.summary()).toEqual([
      ['PREPARE Del AS DELETE FROM t', 'ok', 'PREPARE', null],
      ['PREPARE Del AS DELETE FROM t', 'ok', 'DELETE 3', null],
      ['select 1/0', 'error', null, '22012'],
      ['deallocate del', 'skipped', null, null],
      ['PREPARE Del AS DELETE FROM t', 'ok', 'DELETE 0', null],
      ['/* bye */ DEALLOCATE PREPARE "del"', 'ok', 'DEALLOCATE', null],
      ['(unknown prepared statement "del")', 'error', null, '26000'],
    ]);
  });

  it('follows DEALLOCATE ALL and DISCARD ALL run through the extended protocol, sparing the unnamed statement', async () => {
    const h = new CaptureHarness();
    h.client(parse('a', 'SELECT 1'), parse('', 'DEALLOCATE ALL'), bind(), execute(), sync());
    h.server(be.parseComplete(), be.parseComplete(), be.bindComplete(), be.complete('DEALLOCATE ALL'), be.ready());
    h.client(bind('a'), execute(), sync()).server(be.error('26000'), be.ready());
    h.client(bind(), execute(), sync()).server(be.bindComplete(), be.complete('DEALLOCATE ALL'), be.ready());
    expect((await h.summary()).map((row) => row[0])).toEqual(['DEALLOCATE ALL', '(unknown prepared statement "a")', 'DEALLOCATE ALL']);
  });

  it('remembers 10,001 named statements: the first one is logged with its text', async () => {
    const h = new CaptureHarness({ maxObjects: 20_000, maxBytes: 32 * 1024 * 1024 });
    h.client(parse('evil', 'DELETE FROM t'), sync()).server(be.parseComplete(), be.ready());
    for (let i = 0; i < 10_001; i++) h.client(parse(`other${i}`, `SELECT ${i}`), sync()).server(be.parseComplete(), be.ready());
    h.client(bind('evil'), execute(), sync()).server(be.bindComplete(), be.complete('DELETE 5'), be.ready());
    expect(await h.summary()).toEqual([['DELETE FROM t', 'ok', 'DELETE 5', null]]);
  });

  it('ends the session at the limit rather than forget a statement the server holds', () => {
    const h = new CaptureHarness({ maxObjects: 10_000, maxBytes: 32 * 1024 * 1024 });
    h.client(parse('evil', 'DELETE FROM t'), sync()).server(be.parseComplete(), be.ready());
    for (let i = 0; i < 9_999; i++) h.client(parse(`other${i}`, `SELECT ${i}`), sync()).server(be.parseComplete(), be.ready());
    expect(() => h.client(parse('other9999', 'SELECT 9999'))).toThrow(
      expect.objectContaining({ code: 'prepared_statement_limit', message: expect.stringMatching(/more than 10000 named prepared statements and portals/) }),
    );
    expect(h.forwarded.filter((name) => name === 'parse')).toHaveLength(10_000);
  });

  it('counts statement text against the byte limit, and frees it when a statement is closed or refused', () => {
    const h = new CaptureHarness({ maxObjects: 100, maxBytes: 2048 });
    const big = `SELECT '${'x'.repeat(900)}'`;
    h.client(parse('a', big), parse('b', big), sync()).server(be.parseComplete(), be.error('42P05'), be.ready());
    h.client(parse('c', big), sync()).server(be.parseComplete(), be.ready());
    expect(() => h.client(parse('d', big))).toThrow(ProxyError);
  });
});

describe('StatementTracker: portals follow the server', () => {
  it('keeps a suspended run one row, ended by the transaction', async () => {
    const h = new CaptureHarness();
    h.client(query('begin')).server(be.complete('BEGIN'), be.ready('T'));
    h.client(parse('', 'select g from generate_series(1, 5) g'), bind('', 'c'), execute('c', 2), execute('c', 2), sync());
    h.server(be.parseComplete(), be.bindComplete(), be.rows(2), be.portalSuspended(), be.rows(2), be.portalSuspended(), be.ready('T'));
    h.client(query('commit')).server(be.complete('COMMIT'), be.ready('I'));
    const rows = await h.rows();
    expect(rows.map((r) => [r.statement, r.status, r.rowCount, r.details?.endedBy])).toEqual([
      ['begin', 'ok', null, undefined],
      ['select g from generate_series(1, 5) g', 'ok', 4, 'the transaction ended'],
      ['commit', 'ok', null, undefined],
    ]);
  });

  it('ends a suspended unnamed portal when a new Bind replaces it, on BindComplete', async () => {
    const h = new CaptureHarness();
    h.client(query('begin')).server(be.complete('BEGIN'), be.ready('T'));
    h.client(parse('', 'select 1'), bind(), execute('', 1), bind(), execute(), sync());
    h.server(be.parseComplete(), be.bindComplete(), be.rows(1), be.portalSuspended(), be.bindComplete(), be.rows(1), be.complete('SELECT 1'), be.ready('T'));
    const rows = await h.rows();
    expect(rows.slice(1).map((r) => [r.status, r.rowCount, r.commandTag, r.details?.endedBy])).toEqual([
      ['ok', 1, null, 'replaced by a new Bind'],
      ['ok', 1, 'SELECT 1', undefined],
    ]);
  });

  it('holds an Execute of a named portal behind a Sync that may end its transaction', async () => {
    const h = new CaptureHarness();
    h.client(parse('', 'select 1'), bind('', 'p'), execute('p', 1), sync(), execute('p', 1), sync());
    expect(h.forwarded).toEqual(['parse', 'bind', 'execute', 'sync']);
    h.server(be.parseComplete(), be.bindComplete(), be.rows(1), be.portalSuspended(), be.ready('I'));
    expect(h.forwarded.slice(4)).toEqual(['execute', 'sync']);
    h.server(be.error('34000', 'portal "p" does not exist'), be.ready('I'));
    expect((await h.rows()).map((r) => [r.statement, r.status, r.sqlstate])).toEqual([
      ['select 1', 'ok', null],
      ['(unknown portal "p")', 'error', '34000'],
    ]);
  });

  it('takes the text of a cursor declared in SQL, WITH HOLD across COMMIT', async () => {
    const h = new CaptureHarness();
    h.client(query('begin; declare "C1" cursor with hold for select 1; commit'));
    h.server(be.complete('BEGIN'), be.complete('DECLARE CURSOR'), be.complete('COMMIT'), be.ready('I'));
    h.client(execute('C1'), sync()).server(be.dataRow(), be.complete('SELECT 1'), be.ready('I'));
    expect((await h.summary()).at(-1)).toEqual(['declare "C1" cursor with hold for select 1', 'ok', 'SELECT 1', null]);
  });

  it('ends a session that puts a session command in a simple Query inside an unsynchronized batch', () => {
    const h = new CaptureHarness();
    h.client(parse('a', 'select 1'));
    expect(() => h.client(query('deallocate a'))).toThrow(expect.objectContaining({ code: 'unfollowable_pipeline' }));
  });
});

describe('StatementTracker: other phases', () => {
  it.each([
    [
      'a multi-statement string with an error',
      [query('select 1; select 1/0; select 3')],
      [be.rowDescription(), be.dataRow(), be.complete('SELECT 1'), be.error('22012'), be.ready()],
      [
        ['select 1', 'ok', 'SELECT 1', null],
        ['select 1/0', 'error', null, '22012'],
        ['select 3', 'skipped', null, null],
      ],
    ],
    [
      'a syntax error in a later statement: nothing ran',
      [query('select 1; selec 2')],
      [be.error('42601', 'syntax error', 11), be.ready()],
      [
        ['select 1', 'skipped', null, null],
        ['selec 2', 'error', null, '42601'],
      ],
    ],
    [
      'COPY in, with its bytes',
      [query('copy t from stdin'), serialize.copyData(Buffer.from('1\n2\n')), serialize.copyDone()],
      [be.copyInResponse(), be.complete('COPY 2'), be.ready()],
      [['copy t from stdin', 'ok', 'COPY 2', null]],
    ],
    [
      'COPY out',
      [query('copy t to stdout')],
      [be.copyOutResponse(), be.copyData('1\n'), be.copyData('2\n'), be.copyDone(), be.complete('COPY 2'), be.ready()],
      [['copy t to stdout', 'ok', 'COPY 2', null]],
    ],
    [
      'a function call',
      [functionCall(1598, [Buffer.from('x')])],
      [be.functionCallResponse('abc'), be.ready()],
      [['function call (oid 1598)', 'ok', null, null]],
    ],
    [
      'an empty query',
      [query('')],
      [be.emptyQuery(), be.ready()],
      [['', 'ok', null, null]],
    ],
  ])('%s', async (_name, client, server, expected) => {
    const h = new CaptureHarness();
    h.client(...client).server(...server);
    expect(await h.summary()).toEqual(expected);
  });

  it('records COPY byte counts in the details', async () => {
    const h = new CaptureHarness();
    h.client(query('copy t from stdin')).server(be.copyInResponse());
    h.client(serialize.copyData(Buffer.from('1\n2\n')), serialize.copyDone()).server(be.complete('COPY 2'), be.ready());
    h.client(query('copy t to stdout')).server(be.copyOutResponse(), be.copyData('1\n'), be.copyDone(), be.complete('COPY 1'), be.ready());
    expect((await h.rows()).map((row) => row.details)).toEqual([
      { copy: 'in', copyBytes: 4 },
      { copy: 'out', copyBytes: 2 },
    ]);
  });
});
