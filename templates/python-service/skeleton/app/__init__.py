"""The ${{ values.name }} service.

Created from the Python golden-path template; start it with
`python -m app.server`.
"""

SERVICE_NAME = "${{ values.name }}"
