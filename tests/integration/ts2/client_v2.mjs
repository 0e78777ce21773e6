// client_v2.mjs: the official MCP TypeScript client v2 (@modelcontextprotocol/client, pinned in
// package.json) against `fasterapi run examples/travel/server.py`, over stdio or Streamable HTTP,
// in both protocol eras the client speaks:
//   legacy  the client's default (versionNegotiation 'legacy'): the 2025-11-25 initialize
//           handshake; on HTTP a session (Mcp-Session-Id), elicitation as a server->client
//           request on the call's SSE stream answered by a POST;
//   modern  versionNegotiation { pin: '2026-07-28' }: server/discover, then stateless requests
//           each carrying the _meta envelope (and on HTTP the Mcp-Method/Mcp-Name headers);
//           elicitation as an input_required result the client fulfils and retries (MRTR).
//
//   node client_v2.mjs stdio|http /path/to/fasterapi examples/travel/server.py
//
// Each era is one realistic session: connect, list tools, call book_trip (asserting >= 1
// progress notification before the result and that the elicitation handler was asked and its
// answer used), read a resource, get a prompt, cancel a slow search_flights (the AbortSignal
// makes the client send notifications/cancelled; the call must reject early, and the tool must
// have seen the cancellation: travel://searches shows it "cancelled"), close. Any mismatch exits
// non-zero saying what differed. ctest runs it as integration/ts-client-v2-{stdio,http}.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

const [transportKind, fasterapi, app] = process.argv.slice(2);
if (!['stdio', 'http'].includes(transportKind) || !fasterapi || !app) {
    console.error('usage: node client_v2.mjs stdio|http FASTERAPI TRAVEL_SERVER.py');
    process.exit(2);
}

// The whole run: four sessions of well under 10 s each on a loaded 2-vCPU machine.
const watchdog = setTimeout(() => {
    console.error('FAIL: client_v2.mjs did not finish within 90 s');
    process.exit(1);
}, 90_000);

const step = (era, name) => console.log(`-- [${transportKind} ${era}] ${name}`);
// Two workers (plus the early one in the main interpreter while they start): the calls of one
// session land on different interpreters, as they do in production.
const serverArgs = ['run', app, '--workers', '2'];

function startHttpServer() {
    const child = spawn(fasterapi, [...serverArgs, '--http', '127.0.0.1:0'], {
        stdio: ['ignore', 'inherit', 'pipe'],
        env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, sig })));
    const url = new Promise((resolve, reject) => {
        let seen = '';
        child.stderr.on('data', (d) => {
            process.stderr.write(d);
            seen += d.toString();
            const m = seen.match(/listening on (http:\/\/\S+)/);
            if (m) resolve(m[1]);
        });
        exited.then(({ code }) => reject(new Error(`server exited early (${code})`)));
    });
    return { child, url, exited };
}

async function session(era) {
    const options = {
        capabilities: { elicitation: { form: {} } },
        ...(era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {}),
    };
    const client = new Client({ name: 'fasterapi-ts-client-v2', version: '1.0.0' }, options);
    const asked = [];
    client.setRequestHandler('elicitation/create', async (request) => {
        asked.push(request.params);
        return { action: 'accept', content: { name: 'Ada', seats: 2 } };
    });

    let server = null;
    let transport;
    if (transportKind === 'stdio') {
        transport = new StdioClientTransport({
            command: fasterapi,
            args: serverArgs,
            env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
            stderr: 'inherit',
        });
    } else {
        server = startHttpServer();
        const url = new URL(await server.url);
        step(era, `server at ${url}`);
        transport = new StreamableHTTPClientTransport(url);
    }

    step(era, 'connect');
    await client.connect(transport);
    assert.equal(client.getProtocolEra(), era, 'the era the client negotiated');
    if (era === 'modern') assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
    else assert.equal(client.getNegotiatedProtocolVersion(), '2025-11-25');
    assert.equal(client.getServerVersion()?.name, 'travel-desk');
    if (transportKind === 'http' && era === 'legacy')
        assert.match(transport.sessionId ?? '', /^[0-9a-f]{32}$/, 'a legacy HTTP session id');
    if (transportKind === 'http' && era === 'modern')
        assert.equal(transport.sessionId, undefined, 'the modern era has no sessions');

    step(era, 'listTools');
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['book_trip', 'search_flights']);
    const book = tools.find((t) => t.name === 'book_trip');
    assert.deepEqual(Object.keys(book.inputSchema.properties).sort(), ['destination', 'nights']);

    step(era, 'callTool book_trip: progress, then elicitation, then the result');
    const events = [];
    const booked = await client.callTool(
        { name: 'book_trip', arguments: { destination: 'lisbon', nights: 3 } },
        {
            onprogress: (p) => events.push({ kind: 'progress', ...p }),
        },
    );
    events.push({ kind: 'result' });
    assert.equal(booked.isError ?? false, false, JSON.stringify(booked));
    assert.deepEqual(booked.content, [
        { type: 'text', text: 'booked lisbon for Ada: 2 seat(s), 3 nights, 720 EUR' },
    ]);
    const progress = events.filter((e) => e.kind === 'progress');
    assert.ok(progress.length >= 1, 'at least one progress notification');
    assert.equal(events.at(-1).kind, 'result', 'progress came before the result');
    assert.deepEqual(progress.at(-1), {
        kind: 'progress', progress: 3, total: 3, message: 'pricing',
    });
    assert.ok(asked.length >= 1, 'the elicitation handler was asked');
    assert.match(asked[0].message, /Who travels to lisbon for 3 nights\?/);
    assert.deepEqual(Object.keys(asked[0].requestedSchema.properties).sort(), ['name', 'seats']);

    step(era, 'a tool error stays a result (isError), not a protocol error');
    const unknown = await client.callTool({
        name: 'book_trip', arguments: { destination: 'atlantis', nights: 1 },
    });
    assert.equal(unknown.isError, true);
    assert.match(unknown.content[0].text, /no trips to atlantis/);

    step(era, 'readResource travel://destinations/kyoto');
    const guide = await client.readResource({ uri: 'travel://destinations/kyoto' });
    assert.equal(guide.contents[0].mimeType, 'application/json');
    assert.deepEqual(JSON.parse(guide.contents[0].text), {
        name: 'kyoto', country: 'Japan', best_months: ['April', 'November'], nightly_eur: 180,
    });

    step(era, 'getPrompt plan_trip');
    const prompt = await client.getPrompt({
        name: 'plan_trip', arguments: { destination: 'Kyoto', days: '5' },
    });
    assert.equal(prompt.messages[0].role, 'user');
    assert.match(prompt.messages[0].content.text, /^Plan a 5-day trip to Kyoto/);

    step(era, 'cancel a slow search_flights (AbortSignal -> notifications/cancelled)');
    const ac = new AbortController();
    let sawProgress;
    const progressed = new Promise((resolve) => (sawProgress = resolve));
    const started = Date.now();
    const pending = client.callTool(
        { name: 'search_flights', arguments: { destination: 'kyoto', seconds: 20 } },
        { signal: ac.signal, onprogress: () => sawProgress() },
    );
    pending.catch(() => {}); // observed below; keep Node from reporting it unhandled meanwhile
    await progressed; // the tool is running
    ac.abort('the user changed their mind');
    await assert.rejects(pending, (e) => {
        assert.match(String(e?.message ?? e), /abort|cancel|changed their mind/i);
        return true;
    });
    assert.ok(Date.now() - started < 10_000, 'the cancelled call ended early');
    // The tool saw the cancellation: its search is recorded as cancelled (the server may take
    // a moment to deliver it to the tool after the client gave up).
    let last;
    for (let i = 0; i < 50; i++) {
        const r = await client.readResource({ uri: 'travel://searches' });
        last = JSON.parse(r.contents[0].text);
        if (last.at(-1)?.status === 'cancelled') break;
        await new Promise((res) => setTimeout(res, 100));
    }
    assert.deepEqual(last.at(-1), { destination: 'kyoto', status: 'cancelled' });

    step(era, 'the session still works after the cancellation');
    const again = await client.callTool({
        name: 'search_flights', arguments: { destination: 'lisbon', seconds: 0 },
    });
    assert.deepEqual(again.content, [{ type: 'text', text: '3 flights to lisbon' }]);

    step(era, 'close');
    if (transportKind === 'http' && era === 'legacy') await transport.terminateSession();
    await client.close();
    if (server) {
        server.child.kill('SIGTERM');
        const { code, sig } = await server.exited;
        assert.equal(sig, null);
        assert.equal(code, 0, 'the server exits 0 on SIGTERM');
    }
}

async function main() {
    for (const era of ['legacy', 'modern']) await session(era);
}

main().then(
    () => {
        clearTimeout(watchdog);
        console.log(`PASS: the TypeScript client v2 agrees with fasterapi over ${transportKind} ` +
            '(2025-11-25 and 2026-07-28)');
        process.exit(0);
    },
    (e) => {
        clearTimeout(watchdog);
        console.error(`FAIL: ${e instanceof Error ? e.stack : e}`);
        process.exit(1);
    },
);
