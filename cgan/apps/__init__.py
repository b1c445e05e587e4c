"""The applications: what the commands do (translate and webcam runs, the public Translator, info, the report, the
demo), built on the engines below (train/, export/, runtime/) and called by the command line above."""
