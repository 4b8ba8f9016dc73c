-- wrk script: POST API-channel messages with unique external ids over 200 contacts.
-- SB_BATCH=N (N > 1) posts N messages per request to the batch endpoint instead.
local counter = 0
local token = os.getenv("SB_INBOUND_TOKEN") or "tttttttttttttttttttttttt"
local run = os.getenv("SB_RUN") or tostring(math.random(1e9))
local batch = tonumber(os.getenv("SB_BATCH") or "1")
local headers = {["content-type"] = "application/json", ["authorization"] = "Bearer " .. token}

local function one()
  counter = counter + 1
  return string.format(
    '{"external_id":"m-%s-%d","text":"message %d","contact":{"external_id":"c%d"}}',
    run, counter, counter, counter % 200)
end

request = function()
  if batch <= 1 then
    return wrk.format("POST", nil, headers, one())
  end
  local parts = {}
  for i = 1, batch do parts[i] = one() end
  return wrk.format("POST", wrk.path .. "/batch", headers,
                    '{"messages":[' .. table.concat(parts, ",") .. ']}')
end
