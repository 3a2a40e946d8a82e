wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"model":"switchboard-simulator","messages":[{"role":"user","content":"How are you today?"}]}'
local conv = os.getenv("CONV")
request = function()
  if conv == "1" then
    wrk.headers["x-conversation-id"] = "c" .. math.random(1, tonumber(os.getenv("SPACE") or "2000"))
  end
  return wrk.format()
end
