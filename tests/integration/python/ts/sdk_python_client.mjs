// sdk_python_client.mjs: the official MCP TypeScript SDK (v1) as a client of `fasterapi run`
// serving Python (FastMCP) apps.
//
//   node sdk_python_client.mjs /path/to/fasterapi examples/quickstart/server.py \
//        tests/integration/python/apps/kitchen.py
//
// Part one launches the quickstart example and exercises tools/list, tools/call (plain, with
// structuredContent checked by the SDK against the outputSchema, with progress and logging),
// resource templates, prompts and the error paths. Part two launches the kitchen app with the
// elicitation and sampling capabilities declared and answers the server's elicitation/create and
// sampling/createMessage requests from the SDK's own request handlers. Each part ends by closing
// the client (EOF on the server's stdin) and checking that the server exited with status 0. Any
// mismatch exits non-zero saying what differed. ctest runs it as integration/ts-sdk-python after
// integration/npm-install (CMake copies this file next to the installed node_modules).
import assert from 'node:assert/strict';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
    getDefaultEnvironment,
    StdioClientTransport,
} from '@modelcontextprotocol/sdk/client/stdio.js';
import {
    CreateMessageRequestSchema,
    ElicitRequestSchema,
    ErrorCode,
    ListRootsRequestSchema,
    LoggingMessageNotificationSchema,
    McpError,
    PromptListChangedNotificationSchema,
    ResourceListChangedNotificationSchema,
    ResourceUpdatedNotificationSchema,
    ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

import { closeAndCheckExit } from '../close_check.mjs';

const [fasterapi, quickstart, kitchen, fastmcpStyle] = process.argv.slice(2);
if (!fasterapi || !quickstart || !kitchen || !fastmcpStyle) {
    console.error('usage: node sdk_python_client.mjs FASTERAPI QUICKSTART.py KITCHEN.py '
        + 'FASTMCP_STYLE.py');
    process.exit(2);
}

// A hang must fail the test, not block ctest until its timeout.
const watchdog = setTimeout(() => {
    console.error('FAIL: sdk_python_client.mjs did not finish within 90 s');
    process.exit(1);
}, 90_000);

const step = (name) => console.log(`-- ${name}`);

function launch(app, capabilities = {}) {
    const transport = new StdioClientTransport({
        command: fasterapi,
        args: ['run', app, '--workers', '2'],
        // The SDK passes only a few variables (PATH, HOME, ...) to the server; keep Python from
        // writing __pycache__ into the source tree as ctest asks (PYTHONDONTWRITEBYTECODE).
        env: process.env.PYTHONDONTWRITEBYTECODE
            ? { ...getDefaultEnvironment(), PYTHONDONTWRITEBYTECODE: '1' }
            : getDefaultEnvironment(),
        stderr: 'inherit', // the server's logs; never mixed into the protocol stream
    });
    const client = new Client({ name: 'fasterapi-ts-sdk-python', version: '1.0.0' },
        { capabilities });
    return { transport, client };
}

async function quickstartPart() {
    const { transport, client } = launch(quickstart);
    const logs = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
        logs.push(n.params);
    });
    let transportError = null;

    step('quickstart: connect (initialize + notifications/initialized)');
    await client.connect(transport);
    transport.onerror = (e) => {
        transportError = e;
    };
    assert.equal(client.getServerVersion().name, 'quickstart');
    const caps = client.getServerCapabilities();
    for (const c of ['tools', 'resources', 'prompts', 'logging']) {
        assert.ok(caps[c], `the server should declare ${c}: ${JSON.stringify(caps)}`);
    }
    assert.match(client.getInstructions(), /^Small utilities/);

    step('listTools');
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name), ['add', 'text_stats', 'digest', 'countdown']);
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    assert.equal(byName.add.description, 'Add two numbers.');
    assert.deepEqual(byName.add.inputSchema, {
        type: 'object',
        properties: { a: { type: 'number' }, b: { type: 'number' } },
        required: ['a', 'b'],
        additionalProperties: false,
    });
    assert.deepEqual(byName.text_stats.inputSchema.properties.text,
        { type: 'string', description: 'The text to measure' });
    assert.deepEqual(byName.text_stats.outputSchema.required, ['characters', 'words', 'lines']);
    assert.deepEqual(byName.digest.inputSchema.properties.algorithm.enum,
        ['sha256', 'sha1', 'md5']);
    assert.equal(byName.digest.inputSchema.properties.data.description, 'the text to hash (UTF-8)');
    assert.deepEqual(Object.keys(byName.countdown.inputSchema.properties), ['seconds']);

    step('callTool add (structuredContent, validated by the SDK against outputSchema)');
    const sum = await client.callTool({ name: 'add', arguments: { a: 2, b: 3.5 } });
    assert.notEqual(sum.isError, true);
    assert.deepEqual(sum.structuredContent, { result: 5.5 });
    assert.deepEqual(sum.content, [{ type: 'text', text: '5.5' }]);

    step('callTool text_stats (a dataclass result)');
    const stats = await client.callTool({
        name: 'text_stats',
        arguments: { text: 'héllo wörld\nsecond line ✓' },
    });
    assert.deepEqual(stats.structuredContent, { characters: 25, words: 5, lines: 2 });
    assert.deepEqual(JSON.parse(stats.content[0].text), stats.structuredContent);

    step('callTool digest');
    const sha = await client.callTool({ name: 'digest', arguments: { data: 'abc' } });
    assert.deepEqual(sha.structuredContent, {
        result: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    });
    const md5 = await client.callTool({
        name: 'digest',
        arguments: { data: 'abc', algorithm: 'md5' },
    });
    assert.deepEqual(md5.content, [{ type: 'text', text: '900150983cd24fb0d6963f7d28e17f72' }]);

    step('setLoggingLevel + callTool countdown with onprogress');
    assert.deepEqual(await client.setLoggingLevel('info'), {});
    const progress = [];
    const started = Date.now();
    const lift = await client.callTool({ name: 'countdown', arguments: { seconds: 2 } },
        undefined, { onprogress: (p) => progress.push(p) });
    assert.deepEqual(lift.content, [{ type: 'text', text: 'liftoff' }]);
    assert.ok(Date.now() - started >= 1900, 'countdown 2 should take 2 s');
    assert.deepEqual(progress, [
        { progress: 0, total: 2, message: '2 s left' },
        { progress: 1, total: 2, message: '1 s left' },
    ]);
    assert.deepEqual(logs, [
        { level: 'info', data: 'tick 1/2' },
        { level: 'info', data: 'tick 2/2' },
    ]);
    assert.deepEqual(await client.setLoggingLevel('warning'), {});
    await client.callTool({ name: 'countdown', arguments: { seconds: 1 } });
    assert.equal(logs.length, 2, 'info is below warning: no more log notifications');

    step('listResourceTemplates + readResource users://1/profile');
    const { resourceTemplates } = await client.listResourceTemplates();
    assert.deepEqual(resourceTemplates.map((t) => t.uriTemplate), ['users://{user_id}/profile']);
    assert.equal(resourceTemplates[0].mimeType, 'application/json');
    const profile = await client.readResource({ uri: 'users://1/profile' });
    assert.equal(profile.contents.length, 1);
    assert.equal(profile.contents[0].uri, 'users://1/profile');
    assert.equal(profile.contents[0].mimeType, 'application/json');
    assert.deepEqual(JSON.parse(profile.contents[0].text),
        { name: 'Ada Lovelace', role: 'analyst' });
    const { resources } = await client.listResources();
    assert.deepEqual(resources.map((r) => r.uri), ['config://version']);
    const version = await client.readResource({ uri: 'config://version' });
    assert.equal(version.contents[0].text, 'quickstart 1.0');
    await assert.rejects(client.readResource({ uri: 'nope://x' }), (e) => {
        assert.ok(e instanceof McpError, `expected McpError, got ${e}`);
        assert.equal(e.code, -32002);
        assert.deepEqual(e.data, { uri: 'nope://x' });
        return true;
    });

    step('listPrompts + getPrompt review_code');
    const { prompts } = await client.listPrompts();
    assert.deepEqual(prompts, [{
        name: 'review_code',
        description: 'Ask for a code review.',
        arguments: [{ name: 'code', required: true }, { name: 'language', required: false }],
    }]);
    const review = await client.getPrompt({
        name: 'review_code',
        arguments: { code: 'x = 1', language: 'ruby' },
    });
    assert.deepEqual(review.messages, [{
        role: 'user',
        content: {
            type: 'text',
            text: 'Please review this ruby code and point out bugs and unclear parts:\n\nx = 1',
        },
    }]);
    await assert.rejects(client.getPrompt({ name: 'review_code', arguments: {} }), (e) => {
        assert.ok(e instanceof McpError, `expected McpError, got ${e}`);
        assert.equal(e.code, ErrorCode.InvalidParams);
        return true;
    });

    step('unknown tool -> McpError -32602');
    await assert.rejects(client.callTool({ name: 'no_such_tool', arguments: {} }), (e) => {
        assert.ok(e instanceof McpError, `expected McpError, got ${e}`);
        assert.equal(e.code, ErrorCode.InvalidParams);
        assert.match(e.message, /Unknown tool: no_such_tool/);
        return true;
    });

    step('invalid arguments -> isError result naming the property');
    const invalid = await client.callTool({ name: 'add', arguments: { a: 'one', b: 2 } });
    assert.equal(invalid.isError, true);
    assert.match(invalid.content[0].text, /\/a: expected number, got string/);
    const misspelt = await client.callTool({ name: 'add', arguments: { a: 1, b: 2, c: 3 } });
    assert.equal(misspelt.isError, true);
    assert.match(misspelt.content[0].text, /unexpected property 'c'/);

    step('the server still answers after the errors');
    assert.deepEqual(await client.ping(), {});
    assert.equal(transportError, null, `transport error: ${transportError}`);

    step('close (EOF on stdin) and check the exit status');
    await closeAndCheckExit(client, transport);
}

async function elicitationPart() {
    const { transport, client } = launch(kitchen, { elicitation: {}, sampling: {} });
    const asked = [];
    let answer = { action: 'accept', content: { name: 'Ada', age: 36 } };
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
        asked.push(request.params);
        return answer;
    });
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
        const text = request.params.messages[0].content.text;
        return {
            role: 'assistant',
            model: 'sdk-test-model',
            content: { type: 'text', text: `echo of ${text}` },
        };
    });

    step('kitchen: connect with the elicitation and sampling capabilities');
    await client.connect(transport);
    assert.equal(client.getServerVersion().name, 'kitchen');

    step('callTool ask_contact -> elicitation/create -> accept');
    const accepted = await client.callTool({ name: 'ask_contact', arguments: {} });
    assert.deepEqual(accepted.content, [{ type: 'text', text: 'accepted Contact Ada 36 False' }]);
    assert.deepEqual(asked, [{
        message: 'Who should we contact?',
        requestedSchema: {
            type: 'object',
            properties: {
                name: { type: 'string' },
                age: { type: 'integer' },
                newsletter: { type: 'boolean', default: false },
            },
            required: ['name', 'age'],
        },
    }]);

    step('elicitation decline and cancel');
    answer = { action: 'decline' };
    const declined = await client.callTool({ name: 'ask_contact', arguments: {} });
    assert.deepEqual(declined.structuredContent, { result: 'decline' });
    answer = { action: 'cancel' };
    const cancelled = await client.callTool({ name: 'ask_contact', arguments: {} });
    assert.deepEqual(cancelled.structuredContent, { result: 'cancel' });

    step('three elicitations at once');
    answer = { action: 'accept', content: { name: 'Bo', age: 3, newsletter: true } };
    const many = await Promise.all([1, 2, 3].map(
        () => client.callTool({ name: 'ask_contact', arguments: {} })));
    for (const r of many) {
        assert.deepEqual(r.content, [{ type: 'text', text: 'accepted Contact Bo 3 True' }]);
    }

    step('callTool ask_model -> sampling/createMessage');
    const sampled = await client.callTool({ name: 'ask_model', arguments: { question: 'why?' } });
    assert.deepEqual(sampled.content, [{ type: 'text', text: 'model said: echo of why?' }]);

    step('close (EOF on stdin) and check the exit status');
    await closeAndCheckExit(client, transport);
}

// Part three: a server written for the python-sdk's FastMCP (apps/fastmcp_style.py: lifespan,
// pydantic Field, ctx.session, mcp.types content) run unchanged, seen through the SDK client.
async function fastmcpStylePart() {
    const { transport, client } = launch(fastmcpStyle, { roots: { listChanged: true }, sampling: {} });
    const seen = [];
    for (const [schema, name] of [
        [ToolListChangedNotificationSchema, 'tools'],
        [ResourceListChangedNotificationSchema, 'resources'],
        [PromptListChangedNotificationSchema, 'prompts'],
        [ResourceUpdatedNotificationSchema, 'updated'],
    ]) {
        client.setNotificationHandler(schema, (n) => seen.push(name + (n.params?.uri ? ` ${n.params.uri}` : '')));
    }
    const logs = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params));
    client.setRequestHandler(ListRootsRequestSchema, async () => ({
        roots: [{ uri: 'file:///work', name: 'work' }],
    }));
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
        role: 'assistant',
        model: 'stub',
        content: { type: 'text', text: `short: ${req.params.messages[0].content.text}` },
    }));

    step('fastmcp-style: connect');
    await client.connect(transport);

    step('listTools: pydantic Field descriptions and bounds in the schema');
    const { tools } = await client.listTools();
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    assert.deepEqual(byName.greet_user.inputSchema.properties.times, {
        type: 'integer', description: 'Number of times to repeat the greeting',
        default: 1, minimum: 1, maximum: 3,
    });
    assert.deepEqual(byName.greet_user.inputSchema.required, ['name']);
    assert.equal(byName.rich.outputSchema, undefined, 'content annotations: no outputSchema');

    step('callTool through the lifespan connection, Field defaults, constraint errors');
    const q = await client.callTool({ name: 'query_db', arguments: { key: 'greeting' } });
    assert.deepEqual(q.structuredContent, { result: 'hello' });
    const g = await client.callTool({ name: 'greet_user', arguments: { name: 'Ada' } });
    assert.deepEqual(g.content, [{ type: 'text', text: 'Ada' }]);
    const bad = await client.callTool({ name: 'greet_user', arguments: { name: 'Ada', times: 9 } });
    assert.equal(bad.isError, true);
    assert.match(bad.content[0].text, /times/);

    step('content objects, CallToolResult _meta, lists, inf');
    const rich = await client.callTool({ name: 'rich', arguments: {} });
    assert.deepEqual(rich.content, [
        { type: 'text', text: 'caption' },
        { type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' },
    ]);
    const meta = await client.callTool({ name: 'with_meta', arguments: {} });
    assert.deepEqual(meta._meta, { trace: 'abc' });
    const lines = await client.callTool({ name: 'lines', arguments: {} });
    assert.deepEqual(lines.content.map((c) => c.text), ['one', 'two']);
    const inf = await client.callTool({ name: 'ratio', arguments: { a: 1, b: 0 } });
    assert.equal(inf.isError, true);
    assert.match(inf.content[0].text, /inf/);

    step('ctx.session: log, progress, list_changed and resource-updated notifications');
    // resources/updated reaches clients subscribed to the URI (spec: resource subscriptions).
    await client.subscribeResource({ uri: 'memo://one' });
    const progress = [];
    const sess = await client.callTool({ name: 'session_calls', arguments: {} }, undefined,
        { onprogress: (p) => progress.push(p) });
    assert.match(sess.content[0].text, /^id=\d+$/);
    assert.deepEqual(progress, [{ progress: 1, total: 2 }]);
    assert.deepEqual(logs, [{ level: 'info', logger: 'sess', data: 'from the session' }]);
    assert.deepEqual(seen, ['updated memo://one', 'tools', 'resources', 'prompts']);

    step('ctx.session.list_roots and create_message answered by the client');
    const roots = await client.callTool({ name: 'roots', arguments: {} });
    assert.deepEqual(roots.structuredContent, { result: ['file:///work'] });
    const summary = await client.callTool({ name: 'summarize', arguments: { text: 'long' } });
    assert.deepEqual(summary.content, [{ type: 'text', text: 'short: long' }]);

    step('close (EOF on stdin): lifespan teardown, exit status 0');
    await closeAndCheckExit(client, transport);
}

quickstartPart().then(elicitationPart).then(fastmcpStylePart).then(
    () => {
        clearTimeout(watchdog);
        console.log('PASS: the TypeScript SDK client agrees with fasterapi run (Python apps)');
        process.exit(0);
    },
    (e) => {
        clearTimeout(watchdog);
        console.error(`FAIL: ${e instanceof Error ? e.stack : e}`);
        process.exit(1);
    },
);
