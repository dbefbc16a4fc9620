// node cql_paging.js HOST:PORT KEYSPACE N
// Creates KEYSPACE.p with N rows in partition 1 and 37 in partition 2 (prepared, concurrent),
// then reads them back with eachRow (autoPage, and page by page with nextPage()), execute with
// fetchSize and pageState, the async iterator, stream(), and a paged full scan. Prints one JSON
// line with what each way saw.
const { main } = require('./cql_common');

const [addr, ks, nArg] = process.argv.slice(2);
const n = Number(nArg);

function eachRow(client, query, params, options) {
  // Resolves to {rows, pages}: pages counts end-callback calls (one per page without autoPage).
  return new Promise((resolve, reject) => {
    const rows = [];
    let pages = 0;
    client.eachRow(query, params, options, (i, row) => rows.push(row.c), (err, result) => {
      if (err) return reject(err);
      pages++;
      if (!options.autoPage && result && result.nextPage) return result.nextPage();
      return resolve({ rows, pages });
    });
  });
}

main(addr, async (client) => {
  await client.execute(`CREATE KEYSPACE ${ks} WITH replication = ` +
                       "{'class': 'SimpleStrategy', 'replication_factor': 1}");
  await client.execute(`CREATE TABLE ${ks}.p (k int, c int, v text, PRIMARY KEY (k, c))`);
  const ins = `INSERT INTO ${ks}.p (k, c, v) VALUES (?, ?, ?)`;
  const todo = [];
  for (let c = 0; c < n; c++) todo.push([1, c, `v${c}`]);
  for (let c = 0; c < 37; c++) todo.push([2, c, `w${c}`]);
  for (let i = 0; i < todo.length; i += 128) {
    await Promise.all(todo.slice(i, i + 128).map((p) => client.execute(ins, p, { prepare: true })));
  }
  const q = `SELECT c FROM ${ks}.p WHERE k = ?`;

  const auto = await eachRow(client, q, [1], { prepare: true, fetchSize: 100, autoPage: true });
  const manual = await eachRow(client, q, [1], { prepare: true, fetchSize: 300 });

  const state = { rows: [], pageSizes: [] };
  let pageState;
  do {
    const rs = await client.execute(q, [1], { prepare: true, fetchSize: 150, pageState });
    state.rows.push(...rs.rows.map((r) => r.c));
    state.pageSizes.push(rs.rows.length);
    pageState = rs.pageState;
  } while (pageState);

  const iter = [];
  for await (const row of await client.execute(q, [2], { prepare: true, fetchSize: 10 })) {
    iter.push(row.c);
  }

  const streamed = await new Promise((resolve, reject) => {
    const rows = [];
    client.stream(q, [1], { prepare: true, fetchSize: 250, autoPage: true })
      .on('readable', function onReadable() {
        let row;
        while ((row = this.read()) !== null) rows.push(row.c);
      })
      .on('end', () => resolve(rows))
      .on('error', reject);
  });

  const scan = await eachRow(client, `SELECT k, c FROM ${ks}.p`, [],
                             { prepare: true, fetchSize: 128, autoPage: true });
  return { auto, manual, state, iter, streamed, scanCount: scan.rows.length };
});
