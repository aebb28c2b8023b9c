from learnreport.cli import app

app()
