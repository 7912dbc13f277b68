"""Writing what Google knew into the files, losslessly."""
