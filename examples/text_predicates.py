"""A helper module shipped with --py-files: the Python workers import it inside the UDF."""


def contains(line, letter):
    return line is not None and letter in line
