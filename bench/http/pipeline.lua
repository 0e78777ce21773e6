-- bench/http/pipeline.lua: HTTP/1.1 pipelining for wrk, the load of TechEmpower's plaintext test
-- (depth 16 there). Every write carries DEPTH copies of the request wrk would send (same method,
-- path, headers), back to back; wrk counts each response as one request.
--
--   wrk ... -s bench/http/pipeline.lua URL -- DEPTH
local batch

init = function(args)
  local depth = tonumber(args[1]) or 1
  if depth < 1 then depth = 1 end
  local one = wrk.format()
  local parts = {}
  for i = 1, depth do parts[i] = one end
  batch = table.concat(parts)
end

request = function()
  return batch
end
