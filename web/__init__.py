"""web: what every route of serve.py shares, so a new route is guarded by construction.

    api.py      reading a request (a JSON body with caps, a drawing in either form), refusing it
                with a JSON sentence, answering with JSON; the headers every answer carries
    gate.py     admission control for CPU-bound work: one at a time, a short queue, then 503
    server.py   waitress with deliberate limits (connections, timeouts, body and header size),
                its own errors as JSON too, in one process or several
    workers.py  forked worker processes: started, restarted when they die, stopped together
    static.py   the page's files, gzipped for browsers that accept it

and the server's features, each used by one or two routes:

    store.py        the drawings people label, in SQLite or PostgreSQL (the SQL, once), with
                    their dialects store_sqlite.py and store_pg.py
    corrections.py  a person's corrections used at once: nearest neighbours in the hidden layer
    explain.py      what the page's "Look inside" panel shows: maps, filters, saliency
    neighbours.py   the MNIST training digits nearest to a drawing, as the network sees them

A route in serve.py reads `drawing = read_drawing(read_json(request))`, does its work inside
`with gate:`, and returns `json_answer(...)`; the limits of the HTTP layer, the security headers
and JSON errors for every status apply to it without a line of its own. See web/api.py for the
whole recipe.

What this package is not: the routes (serve.py) or anything about pixels (digits).
"""
