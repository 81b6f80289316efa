"""Orders: trade notices → the order state machine → exactly-once delivery of each unit.

states.py is the state machine (what a notice does, what ending an order does to its units); units.py the two
claims the exactly-once rests on (one worker per order, one code per unit); delivery.py turns a rule into each
unit's message and sends it; worker.py (`Orders`) drives it all from rows; stock.py imports and counts codes.
Import from the modules; this package exports nothing.
"""
