// sdk_client.mjs: the official MCP TypeScript SDK (v1) as a real client of fa_test_server.
//
//   node sdk_client.mjs /path/to/fa_test_server [--big-result]
//
// Launches the server with StdioClientTransport, runs the handshake and exercises tools/list,
// tools/call (text, structured output checked against outputSchema by the SDK itself), progress,
// logging, and the error paths, then closes the client (EOF on the server's stdin) and checks
// that the server exited with status 0. Any mismatch exits non-zero with a message saying what
// differed. ctest runs it as integration/ts-sdk-client after integration/npm-install.
//
// --big-result checks instead that, with default options on both sides, a tool result too big
// for the client is answered with an isError result (the server's max_message) rather than a
// line the SDK's stdio transport refuses (its ReadBuffer limit, 10 MiB in SDK 1.32) and closes
// the connection over (integration/ts-sdk-big-result).
import assert from 'node:assert/strict';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
    ErrorCode,
    LoggingMessageNotificationSchema,
    McpError,
} from '@modelcontextprotocol/sdk/types.js';

import { closeAndCheckExit } from './close_check.mjs';

const serverPath = process.argv[2];
const mode = process.argv[3] ?? 'main';
if (!serverPath || !['main', '--big-result'].includes(mode)) {
    console.error('usage: node sdk_client.mjs /path/to/fa_test_server [--big-result]');
    process.exit(2);
}

// A hang must fail the test, not block ctest until its timeout.
const watchdog = setTimeout(() => {
    console.error('FAIL: sdk_client.mjs did not finish within 60 s');
    process.exit(1);
}, 60_000);

const step = (name) => console.log(`-- ${name}`);

async function main() {
    const transport = new StdioClientTransport({
        command: serverPath,
        args: ['--workers', '2'],
        stderr: 'inherit', // the server's logs; never mixed into the protocol stream
    });
    const client = new Client({ name: 'fasterapi-ts-sdk-test', version: '1.0.0' });
    const logs = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
        logs.push(n.params);
    });
    let transportError = null;

    step('connect (initialize + notifications/initialized)');
    await client.connect(transport);
    transport.onerror = (e) => {
        transportError = e;
    };
    assert.ok(transport.pid > 0, 'the transport should report the server pid');
    const info = client.getServerVersion();
    assert.deepEqual(info, {
        name: 'fa-test-server',
        version: '1.2.3',
        title: 'FasterAPI integration test server',
    });
    const caps = client.getServerCapabilities();
    assert.deepEqual(caps, { logging: {}, tools: { listChanged: false } });
    assert.equal(client.getInstructions(), 'Tools for the FasterAPI integration tests.');

    step('ping');
    assert.deepEqual(await client.ping(), {});

    step('listTools');
    const { tools, nextCursor } = await client.listTools();
    assert.equal(nextCursor, undefined);
    const names = tools.map((t) => t.name);
    for (const n of ['echo', 'add', 'fail', 'rpc_error', 'sleep', 'log', 'big', 'types']) {
        assert.ok(names.includes(n), `tools/list lacks ${n}: ${names.join(', ')}`);
    }
    const echo = tools.find((t) => t.name === 'echo');
    assert.equal(echo.title, 'Echo');
    assert.deepEqual(echo.annotations, {
        readOnlyHint: true,
        idempotentHint: true,
        openWorldHint: false,
    });
    assert.deepEqual(echo.inputSchema.required, ['text']);
    const add = tools.find((t) => t.name === 'add');
    assert.deepEqual(add.outputSchema, {
        type: 'object',
        properties: { sum: { type: 'number' } },
        required: ['sum'],
    });

    step('callTool echo');
    const text = 'héllo, wörld ✓';
    const echoed = await client.callTool({ name: 'echo', arguments: { text } });
    assert.deepEqual(echoed, { content: [{ type: 'text', text }] });

    step('callTool add (structuredContent, validated by the SDK against outputSchema)');
    const sum = await client.callTool({ name: 'add', arguments: { a: 2, b: 3.5 } });
    assert.deepEqual(sum.structuredContent, { sum: 5.5 });
    assert.deepEqual(JSON.parse(sum.content[0].text), { sum: 5.5 });
    assert.notEqual(sum.isError, true);

    step('callTool sleep with onprogress');
    const progress = [];
    const slept = await client.callTool({ name: 'sleep', arguments: { ms: 60 } }, undefined, {
        onprogress: (p) => progress.push(p),
    });
    assert.deepEqual(slept.content, [{ type: 'text', text: 'slept 60 ms' }]);
    assert.ok(progress.length >= 3, `expected progress notifications, got ${progress.length}`);
    for (let i = 1; i < progress.length; i++) {
        assert.ok(progress[i].progress > progress[i - 1].progress, 'progress must increase');
    }
    for (const p of progress) {
        assert.equal(p.total, 60);
        assert.ok(p.progress > 0 && p.progress <= 60, `progress out of range: ${p.progress}`);
    }
    // Not checked: that the last one (60 of 60) arrived. The SDK handles notifications one
    // microtask late but responses at once, so a progress line read in the same chunk as the
    // response finds its handler already removed (an SDK race, not a server one).

    step('setLoggingLevel + notifications/message');
    await client.callTool({ name: 'log', arguments: { level: 'debug', message: 'hidden' } });
    assert.deepEqual(logs, [], 'debug is below the default level (info)');
    assert.deepEqual(await client.setLoggingLevel('debug'), {});
    const logged = await client.callTool({
        name: 'log',
        arguments: { level: 'debug', message: 'shown' },
    });
    assert.deepEqual(logged.content, [{ type: 'text', text: 'logged' }]);
    // The notification is written before the result, so it has been handled by now.
    assert.deepEqual(logs, [{ level: 'debug', logger: 'test', data: 'shown' }]);

    step('unknown tool -> McpError -32602');
    await assert.rejects(
        client.callTool({ name: 'no_such_tool', arguments: {} }),
        (e) => {
            assert.ok(e instanceof McpError, `expected McpError, got ${e}`);
            assert.equal(e.code, ErrorCode.InvalidParams);
            assert.match(e.message, /Unknown tool: no_such_tool/);
            return true;
        },
    );

    step('fail -> isError result');
    const failed = await client.callTool({ name: 'fail', arguments: {} });
    assert.deepEqual(failed, {
        content: [{ type: 'text', text: 'something broke' }],
        isError: true,
    });

    step('invalid arguments -> isError result naming the property');
    const invalid = await client.callTool({ name: 'echo', arguments: { text: 42 } });
    assert.equal(invalid.isError, true);
    assert.match(invalid.content[0].text, /\/text: expected string, got integer/);

    step('rpc_error -> McpError -32603');
    await assert.rejects(client.callTool({ name: 'rpc_error', arguments: {} }), (e) => {
        assert.ok(e instanceof McpError, `expected McpError, got ${e}`);
        assert.equal(e.code, ErrorCode.InternalError);
        assert.deepEqual(e.data, { tool: 'rpc_error' });
        return true;
    });

    step('the server still answers after the errors');
    assert.deepEqual(await client.ping(), {});
    assert.equal(transportError, null, `transport error: ${transportError}`);

    step('close (EOF on stdin) and check the exit status');
    await closeAndCheckExit(client, transport);
}

// With defaults on both sides: a result the SDK cannot read must come back as a tool error.
async function bigResult() {
    const transport = new StdioClientTransport({ command: serverPath, stderr: 'inherit' });
    const client = new Client({ name: 'fasterapi-ts-sdk-big', version: '1.0.0' });
    const errors = [];
    await client.connect(transport);
    client.onerror = (e) => errors.push(e);
    const bytes = 11 * 1024 * 1024; // over the SDK's 10 MiB line limit, under the server's 16
    step(`callTool big {bytes: ${bytes}}`);
    let res;
    try {
        res = await client.callTool({ name: 'big', arguments: { bytes } });
    } catch (e) {
        throw new Error(
            `the call failed instead of returning an isError result: ${e}; client errors: `
                + `${errors.map(String).join('; ') || 'none'}. The server sent a line longer than `
                + 'the official SDK client reads by default (StdioClientTransport maxBufferSize, '
                + '10 MiB), so the client dropped the connection: the default max_message '
                + '(FA_MCP_MAX_MESSAGE, 16 MiB) is larger than the limit it is meant to match.',
        );
    }
    assert.equal(res.isError, true, 'an oversized result should become an isError result');
    assert.match(res.content[0].text, /over the \d+-byte message limit/);
    step('the connection still works');
    assert.deepEqual(await client.ping(), {});
    await client.close();
}

(mode === 'main' ? main() : bigResult()).then(
    () => {
        clearTimeout(watchdog);
        console.log('PASS: the TypeScript SDK client agrees with fa_test_server');
        process.exit(0);
    },
    (e) => {
        clearTimeout(watchdog);
        console.error(`FAIL: ${e instanceof Error ? e.stack : e}`);
        process.exit(1);
    },
);
