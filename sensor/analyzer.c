/* analyzer: the framework (analyzer.h). Placeholder: lands next. */
#include "analyzer.h"
