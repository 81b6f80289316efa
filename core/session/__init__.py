"""Session: one account's IM connection — register, sync, heartbeat, ACKs, sends and their answers.

loop.py (`ImSession`) runs the blocking WebSocket loop on the account's pool thread; connection.py opens the
socket; answers.py matches the server's answers to requests; history.py asks the chat history whether a send
whose answer was lost reached the server. Import from the modules; this package exports nothing.
"""
