// ts_v1_server.mjs: the reference MCP echo server for bench/mcp_http on the official TypeScript
// SDK v1 (@modelcontextprotocol/sdk 1.32.2, pinned in package.json), over Streamable HTTP. v1
// speaks only the 2025 era, so this is the SDK's documented session shape (its
// simpleStreamableHttp example): createMcpExpressApp(), a StreamableHTTPServerTransport + an
// McpServer per session created on initialize (sessionIdGenerator: randomUUID), later POSTs
// routed by Mcp-Session-Id, JSON answers (enableJsonResponse). With STATELESS=1 it is the
// stateless pattern research/peers.md §2b measured instead (simpleStatelessStreamableHttp: a
// fresh server and transport on every POST). Same tool as bench/mcp_http/echo_server.py.
//
//   node ts_v1_server.mjs PORT      (prints "listening on http://127.0.0.1:PORT/mcp")
import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const port = Number(process.argv[2] ?? 3000);
const stateless = process.env.STATELESS === '1';

function makeServer() {
    const server = new McpServer({ name: 'ts-v1-echo-http-bench', version: '1.0.0' });
    server.registerTool(
        'echo',
        {
            title: 'Echo',
            description: 'Return the given text unchanged.',
            inputSchema: { text: z.string().describe('Text to echo') },
            annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
        },
        async ({ text }) => ({ content: [{ type: 'text', text }] }),
    );
    return server;
}

const app = createMcpExpressApp();
const transports = new Map();

function rpcError(res, status, message) {
    res.status(status).json({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
}

app.post('/mcp', async (req, res) => {
    if (stateless) {
        const server = makeServer();
        const transport = new StreamableHTTPServerTransport({
            sessionIdGenerator: undefined,
            enableJsonResponse: true,
        });
        res.on('close', () => {
            transport.close();
            server.close();
        });
        await server.connect(transport);
        await transport.handleRequest(req, res, req.body);
        return;
    }
    const sid = req.headers['mcp-session-id'];
    let transport = sid ? transports.get(sid) : undefined;
    if (!transport) {
        if (sid) return rpcError(res, 404, 'Session not found');
        if (!isInitializeRequest(req.body))
            return rpcError(res, 400, 'Bad Request: No valid session ID provided');
        transport = new StreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            enableJsonResponse: true,
            onsessioninitialized: (id) => transports.set(id, transport),
        });
        transport.onclose = () => {
            if (transport.sessionId) transports.delete(transport.sessionId);
        };
        await makeServer().connect(transport);
    }
    await transport.handleRequest(req, res, req.body);
});

const http = app.listen(port, '127.0.0.1', () => {
    console.error(`listening on http://127.0.0.1:${http.address().port}/mcp`);
});
process.on('SIGTERM', () => http.close(() => process.exit(0)));
