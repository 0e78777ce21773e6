-- bench/http/mcp_ping.lua: wrk load of MCP over Streamable HTTP, one JSON-RPC ping per POST on
-- one 2025 session (the engine answers ping itself: this measures the transport and the hop to
-- the engine's loop, not tools). The session comes from the environment:
--   SID=$(curl -si -H 'Content-Type: application/json' \
--         -H 'Accept: application/json, text/event-stream' \
--         -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":
--              "2025-11-25","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}' \
--         http://127.0.0.1:8000/mcp | sed -n 's/^Mcp-Session-Id: \([0-9a-f]*\).*/\1/Ip')
--   SID=$SID wrk -t1 -c64 -d10 -s bench/http/mcp_ping.lua http://127.0.0.1:8000/mcp
-- Ids count up per wrk thread (thread number in the high digits) so that no two requests in
-- flight share an id (the server refuses a duplicate in-flight id with 400).
local counter = 0
local base = 0

function setup(thread)
    counter = counter + 1
    thread:set("base", counter * 1000000000)
end

function init(args)
    base = base or 0
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Accept"] = "application/json, text/event-stream"
    wrk.headers["Mcp-Session-Id"] = os.getenv("SID") or ""
end

local n = 0
function request()
    n = n + 1
    return wrk.format(nil, nil, nil,
        '{"jsonrpc":"2.0","id":' .. (base + n) .. ',"method":"ping"}')
end

function response(status, headers, body)
    if status ~= 200 then
        io.stderr:write("status " .. status .. ": " .. body .. "\n")
    end
end
