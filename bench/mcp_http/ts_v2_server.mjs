// ts_v2_server.mjs: the reference MCP echo server for bench/mcp_http on the official TypeScript
// SDK v2 (@modelcontextprotocol/server 2.4.0 + @modelcontextprotocol/node 2.1.2, pinned in
// package.json), over Streamable HTTP. It is the SDK's documented shape for node:http
// (docs/serving/http.md): one createMcpHandler(factory) serving both eras -- 2026-07-28
// requests statelessly, 2025-era requests by its default stateless legacy fallback -- adapted
// with toNodeHandler, behind the localhost Host/Origin guards, JSON answers (responseMode
// 'json', as research/peers.md §2b measured it). Same tool as bench/mcp_http/echo_server.py:
// echo {"text": string} -> the text. Nothing is tuned: the point is what an SDK user gets.
//
//   node ts_v2_server.mjs PORT      (prints "listening on http://127.0.0.1:PORT/mcp")
import { createServer } from 'node:http';
import {
    localhostHostValidation,
    localhostOriginValidation,
    toNodeHandler,
} from '@modelcontextprotocol/node';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';

const port = Number(process.argv[2] ?? 3000);

function factory() {
    const server = new McpServer({ name: 'ts-v2-echo-http-bench', version: '1.0.0' });
    server.registerTool(
        'echo',
        {
            title: 'Echo',
            description: 'Return the given text unchanged.',
            inputSchema: z.object({ text: z.string().describe('Text to echo') }),
            annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
        },
        async ({ text }) => ({ content: [{ type: 'text', text }] }),
    );
    return server;
}

const handler = toNodeHandler(createMcpHandler(factory, { responseMode: 'json' }));
const validateHost = localhostHostValidation();
const validateOrigin = localhostOriginValidation();

const http = createServer((req, res) => {
    if (!validateHost(req, res) || !validateOrigin(req, res)) return;
    if (new URL(req.url, 'http://localhost').pathname !== '/mcp') {
        res.writeHead(404).end();
        return;
    }
    handler(req, res);
});
http.listen(port, '127.0.0.1', () => {
    console.error(`listening on http://127.0.0.1:${http.address().port}/mcp`);
});
process.on('SIGTERM', () => http.close(() => process.exit(0)));
