wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"model":"static","messages":[{"role":"user","content":"How are you today?"}]}'
