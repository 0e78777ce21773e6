// sdk_http_client.mjs: the official MCP TypeScript SDK (v1) over Streamable HTTP against
// `fasterapi run APP.py --http 127.0.0.1:0`.
//
//   node sdk_http_client.mjs /path/to/fasterapi examples/quickstart/server.py
//
// Starts the server on a free port (read from its "listening on" line on stderr), connects with
// StreamableHTTPClientTransport and goes through a realistic session: tools/list, a call answered
// as JSON, a call that streams progress and logs (answered as SSE), a resource read, a prompt,
// a cancelled call (the SDK sends notifications/cancelled), ping, then DELETE of the session (a
// request on it afterwards fails with 404) and SIGTERM (the server must exit 0). Any mismatch
// exits non-zero saying what differed. ctest runs it as integration/ts-sdk-http.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
    ElicitRequestSchema,
    LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

const [fasterapi, app, kitchen] = process.argv.slice(2);
if (!fasterapi || !app || !kitchen) {
    console.error('usage: node sdk_http_client.mjs FASTERAPI QUICKSTART.py KITCHEN.py');
    process.exit(2);
}

const watchdog = setTimeout(() => {
    console.error('FAIL: sdk_http_client.mjs did not finish within 60 s');
    process.exit(1);
}, 60_000);

const step = (name) => console.log(`-- ${name}`);

function startServer(file) {
    const child = spawn(fasterapi, ['run', file, '--workers', '2', '--http', '127.0.0.1:0'], {
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

async function main() {
    const server = startServer(app);
    const url = new URL(await server.url);
    step(`server at ${url}`);

    const transport = new StreamableHTTPClientTransport(url);
    const client = new Client({ name: 'fasterapi-ts-sdk-http', version: '1.0.0' });
    const logs = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params));
    let transportError = null;

    step('connect (initialize, notifications/initialized, GET stream)');
    await client.connect(transport);
    transport.onerror = (e) => {
        transportError = e;
    };
    assert.equal(client.getServerVersion().name, 'quickstart');
    assert.match(transport.sessionId, /^[0-9a-f]{32}$/);

    step('listTools');
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name), ['add', 'text_stats', 'digest', 'countdown']);

    step('callTool add (a JSON answer)');
    const sum = await client.callTool({ name: 'add', arguments: { a: 2, b: 3.5 } });
    assert.deepEqual(sum.structuredContent, { result: 5.5 });

    step('callTool countdown with progress and logs (an SSE answer)');
    const progress = [];
    const lift = await client.callTool({ name: 'countdown', arguments: { seconds: 2 } },
        undefined, { onprogress: (p) => progress.push(p) });
    assert.deepEqual(lift.content, [{ type: 'text', text: 'liftoff' }]);
    assert.deepEqual(progress, [
        { progress: 0, total: 2, message: '2 s left' },
        { progress: 1, total: 2, message: '1 s left' },
    ]);
    assert.deepEqual(logs, [
        { level: 'info', data: 'tick 1/2' },
        { level: 'info', data: 'tick 2/2' },
    ]);

    step('readResource users://1/profile');
    const profile = await client.readResource({ uri: 'users://1/profile' });
    assert.deepEqual(JSON.parse(profile.contents[0].text),
        { name: 'Ada Lovelace', role: 'analyst' });

    step('getPrompt review_code');
    const review = await client.getPrompt({
        name: 'review_code',
        arguments: { code: 'x = 1', language: 'ruby' },
    });
    assert.match(review.messages[0].content.text, /review this ruby code/);

    step('cancel a running call (AbortSignal -> notifications/cancelled)');
    const ac = new AbortController();
    const started = Date.now();
    const pending = client.callTool({ name: 'countdown', arguments: { seconds: 10 } }, undefined,
        { signal: ac.signal, onprogress: () => {} });
    setTimeout(() => ac.abort('enough'), 500);
    await assert.rejects(pending);
    assert.ok(Date.now() - started < 5000, 'the cancelled call should end early');

    step('ping after the cancellation');
    assert.deepEqual(await client.ping(), {});
    assert.equal(transportError, null, `transport error: ${transportError}`);

    step('terminateSession (DELETE), then the session is gone (404)');
    const sid = transport.sessionId;
    await transport.terminateSession();
    const res = await fetch(url, {
        method: 'POST',
        headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            'mcp-session-id': sid,
            'mcp-protocol-version': '2025-11-25',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    assert.equal(res.status, 404);
    await client.close();

    step('SIGTERM: the server exits 0');
    server.child.kill('SIGTERM');
    const { code, sig } = await server.exited;
    assert.equal(sig, null);
    assert.equal(code, 0);
}

// A server->client request over HTTP: elicitation/create goes out on the tools/call POST's SSE
// stream, the SDK answers with a new POST (a JSON-RPC response, 202) and the tool continues.
async function elicitation() {
    const server = startServer(kitchen);
    const url = new URL(await server.url);
    const transport = new StreamableHTTPClientTransport(url);
    const client = new Client({ name: 'fasterapi-ts-sdk-http', version: '1.0.0' },
        { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async () =>
        ({ action: 'accept', content: { name: 'Ada', age: 36 } }));
    step('kitchen: callTool ask_contact -> elicitation/create over the POST stream -> accept');
    await client.connect(transport);
    const accepted = await client.callTool({ name: 'ask_contact', arguments: {} });
    assert.deepEqual(accepted.content, [{ type: 'text', text: 'accepted Contact Ada 36 False' }]);
    await transport.terminateSession();
    await client.close();
    server.child.kill('SIGTERM');
    const { code } = await server.exited;
    assert.equal(code, 0);
}

main().then(elicitation).then(
    () => {
        clearTimeout(watchdog);
        console.log('PASS: the TypeScript SDK agrees with fasterapi run --http');
        process.exit(0);
    },
    (e) => {
        clearTimeout(watchdog);
        console.error(`FAIL: ${e instanceof Error ? e.stack : e}`);
        process.exit(1);
    },
);
