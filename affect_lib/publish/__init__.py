"""Publishing machinery: runs the notebooks, builds the book, student copies, browser
check.

Imports the science (every other package of affect_lib); nothing there imports this
package.
"""
