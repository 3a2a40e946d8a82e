wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"model":"switchboard-simulator","messages":[{"role":"user","content":"How do I reset my password?"}]}'
